import type { ApiFamily, BackendConfig, InferenceConfig, RouteConfig } from './schema.js';
import type { Shape } from './translate/index.js';
import { isCopilotHost } from './apis.js';

/** Routes compiled once per load: globs become anchored RegExps, defaults are filled in. */
export interface CompiledRoute {
  name: string;
  apis: ReadonlySet<ApiFamily> | undefined;
  models: readonly RegExp[] | undefined;
  sensitive: boolean | undefined;
  hosts: ReadonlySet<string> | undefined;
  action: 'route' | 'allow' | 'deny';
  backend?: string;
  model?: string;
  fallback?: string;
  fallbackModel?: string;
  reason?: string;
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

/** A route that matches whatever model is asked for. */
function anyModel(r: CompiledRoute): boolean {
  return !r.models || r.models.some((re) => re.source === '^.*$');
}

export function compileRoutes(config: InferenceConfig | undefined): RouteTable {
  const cfg = config ?? DEFAULT_INFERENCE;
  const backends = new Map(Object.entries(cfg.backends ?? {}));
  const routes = (cfg.routes ?? []).map(compile);
  return {
    backends,
    routes,
    extraHosts: [...new Set([...(cfg.hosts ?? []).map((h) => (typeof h === 'string' ? h : h.host)), ...routes.flatMap((r) => [...(r.hosts ?? [])])].map((h) => h.toLowerCase()))],
    prefixes: prefixesOf(cfg.hosts ?? []),
    match(api, model, sensitive, host) {
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
    },
    matchApi(api, host) {
      const family = familyOf(api);
      return routes.find((r) => (!r.apis || r.apis.has(family)) && (!r.hosts || r.hosts.has(host)) && anyModel(r) && r.sensitive !== true);
    },
    matchCopilotSession() {
      // Copilot's calls are OpenAI- and Anthropic-shaped (chat completions, responses, messages).
      return routes.find((r) => (!r.apis || r.apis.has('openai') || r.apis.has('anthropic')) && (!r.hosts || [...r.hosts].some(isCopilotHost)) && anyModel(r) && r.sensitive !== true);
    },
  };
}
