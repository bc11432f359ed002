import type { ApiFamily, BackendConfig, InferenceConfig, RouteConfig } from './schema.js';
import type { Shape } from './translate/index.js';
import { isCopilotHost } from './apis.js';

/** Routes compiled once per load: globs become anchored RegExps, defaults are filled in. */
export interface CompiledRoute {
  name: string;
  apis: ReadonlySet<ApiFamily> | undefined;
  models: readonly RegExp[] | undefined;
  /** The model names as written, whose wildcard-free ones a model list names. */
  modelGlobs: readonly string[] | undefined;
  sensitive: boolean | undefined;
  hosts: ReadonlySet<string> | undefined;
  action: 'route' | 'allow' | 'deny';
  backend?: string;
  model?: string;
  fallback?: string;
  fallbackModel?: string;
  reason?: string;
}

export interface ModelList {
  /** The route the list is audited under. */
  route: CompiledRoute;
  names: string[];
  /** Whose backend's list to add, filtered through `accepts`. */
  backendRoute: CompiledRoute | undefined;
  passThrough: boolean;
  /** Whether a call naming this model, with nothing sensitive in it, is routed or allowed here. */
  accepts(model: string): boolean;
}

export interface RouteTable {
  readonly backends: ReadonlyMap<string, BackendConfig>;
  readonly routes: readonly CompiledRoute[];
  /** `hosts` and every host a route names, lower case. */
  readonly extraHosts: readonly string[];
  /** Per host, the path prefixes under which it serves OpenAI's API (in place of /v1). */
  readonly prefixes: ReadonlyMap<string, readonly string[]>;
  /** First match wins; `undefined` means no route matched (the router then denies). */
  match(api: Shape, model: string | undefined, sensitive: boolean | undefined, host: string): CompiledRoute | undefined;
  /** For model lists: the first route for this API and host that does not depend on model or content. */
  matchApi(api: Shape, host: string): CompiledRoute | undefined;
  /**
   * What a model list on this API and host answers: the names the routes accept (each concrete
   * name a route's `match.model` spells out, where the route that name meets routes or allows it),
   * and the route whose backend's own list is added (the first model-independent route, when it
   * routes). `passThrough`: that route allows the call to the provider, whose list is the answer.
   * Undefined: nothing accepts any name here, so the list is refused.
   */
  modelList(api: Shape, host: string): ModelList | undefined;
  /**
   * For a Copilot client's session calls (its user and token, on api.github.com): the first route,
   * independent of model and content, that applies to Copilot's calls on any of its API hosts, since
   * the session's answer is what tells the client which host (and so which routes) its calls meet.
   */
  matchCopilotSession(): CompiledRoute | undefined;
}

/** No `inference:` section: everything to a local Ollama, model names unchanged. */
export const DEFAULT_INFERENCE: InferenceConfig = {
  backends: { ollama: { type: 'ollama', url: 'http://127.0.0.1:11434' } },
  routes: [{ name: 'default', match: {}, backend: 'ollama' }],
};

/** `match.api` names a provider: OpenAI's Chat Completions and Responses APIs are both `openai`. */
export function familyOf(shape: Shape): ApiFamily {
  return shape === 'responses' ? 'openai' : shape;
}

export function globToRegExp(glob: string): RegExp {
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 'i');
}

function list<T>(value: T | T[] | undefined): T[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value : [value];
}

function compile(route: RouteConfig, i: number): CompiledRoute {
  const action = route.action ?? 'route';
  const apis = list(route.match.api);
  const models = list(route.match.model);
  const hosts = list(route.match.host);
  const out: CompiledRoute = {
    name: route.name ?? `routes[${i}]`,
    apis: apis ? new Set(apis) : undefined,
    models: models?.map(globToRegExp),
    modelGlobs: models,
    sensitive: route.match.sensitive,
    hosts: hosts ? new Set(hosts.map((h) => h.toLowerCase())) : undefined,
    action,
  };
  if (route.backend) out.backend = route.backend;
  if (route.model) out.model = route.model;
  if (route.fallback) out.fallback = route.fallback;
  const fbModel = route.fallback_model ?? route.model;
  if (fbModel) out.fallbackModel = fbModel;
  if (route.reason) out.reason = route.reason;
  return out;
}

function prefixesOf(hosts: NonNullable<InferenceConfig['hosts']>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const h of hosts) {
    if (typeof h === 'string') continue;
    const host = h.host.toLowerCase();
    // Longest first, so /api/v1 wins over /api when both are given.
    out.set(host, [...(out.get(host) ?? []), h.prefix].sort((a, b) => b.length - a.length));
  }
  return out;
}

/** A glob with no wildcard names exactly one model. */
const CONCRETE = /^[^*?]+$/;

/** A route that matches whatever model is asked for. */
function anyModel(r: CompiledRoute): boolean {
  return !r.models || r.models.some((re) => re.source === '^.*$');
}

export function compileRoutes(config: InferenceConfig | undefined): RouteTable {
  const cfg = config ?? DEFAULT_INFERENCE;
  const backends = new Map(Object.entries(cfg.backends ?? {}));
  const routes = (cfg.routes ?? []).map(compile);
  const match: RouteTable['match'] = (api, model, sensitive, host) => {
    const family = familyOf(api);
    for (const r of routes) {
      if (r.apis && !r.apis.has(family)) continue;
      if (r.hosts && !r.hosts.has(host)) continue;
      if (r.models && (model === undefined || !r.models.some((re) => re.test(model)))) continue;
      // Without a redaction engine nothing is known to be sensitive.
      if (r.sensitive !== undefined && r.sensitive !== (sensitive ?? false)) continue;
      return r;
    }
    return undefined;
  };
  const matchApi: RouteTable['matchApi'] = (api, host) => {
    const family = familyOf(api);
    return routes.find((r) => (!r.apis || r.apis.has(family)) && (!r.hosts || r.hosts.has(host)) && anyModel(r) && r.sensitive !== true);
  };
  return {
    backends,
    routes,
    extraHosts: [...new Set([...configuredHosts(cfg), ...routes.flatMap((r) => [...(r.hosts ?? [])])].map((h) => h.toLowerCase()))],
    prefixes: prefixesOf(cfg.hosts ?? []),
    match,
    matchApi,
    modelList(api, host) {
      const accepts = (model: string): boolean => {
        const action = match(api, model, false, host)?.action;
        return action === 'route' || action === 'allow';
      };
      const family = familyOf(api);
      const spelled = routes.filter((r) => (!r.apis || r.apis.has(family)) && (!r.hosts || r.hosts.has(host)) && r.sensitive !== true && r.action !== 'deny');
      const names = [...new Set(spelled.flatMap((r) => (r.modelGlobs ?? []).filter((n) => CONCRETE.test(n))))].filter(accepts);
      const any = matchApi(api, host);
      if (any && any.action !== 'deny') return { route: any, names, backendRoute: any.action === 'route' ? any : undefined, passThrough: any.action === 'allow', accepts };
      if (names.length > 0) return { route: match(api, names[0], false, host)!, names, backendRoute: undefined, passThrough: false, accepts };
      return undefined;
    },
    matchCopilotSession() {
      // Copilot's calls are OpenAI- and Anthropic-shaped (chat completions, responses, messages).
      return routes.find((r) => (!r.apis || r.apis.has('openai') || r.apis.has('anthropic')) && (!r.hosts || [...r.hosts].some(isCopilotHost)) && anyModel(r) && r.sensitive !== true);
    },
  };
}

/** The host names an `inference.hosts` list adds (an entry is a name, or a name with a path prefix). */
export function configuredHosts(cfg: InferenceConfig | undefined): string[] {
  return (cfg?.hosts ?? []).map((entry) => (typeof entry === 'string' ? entry : entry.host));
}
