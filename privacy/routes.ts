import type { ApiFamily, BackendConfig, InferenceConfig, RouteConfig } from './schema.js';
import type { Shape } from './translate/index.js';

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
  /** First match wins; `undefined` means no route matched (the router then denies). */
  match(api: Shape, model: string | undefined, sensitive: boolean | undefined, host: string): CompiledRoute | undefined;
  /** For model lists: the first route for this API and host that does not depend on model or content. */
  matchApi(api: Shape, host: string): CompiledRoute | undefined;
}

/** No `inference:` section: everything to a local Ollama, model names unchanged. */
export const DEFAULT_INFERENCE: InferenceConfig = {
  backends: { ollama: { type: 'ollama', url: 'http://127.0.0.1:11434' } },
  routes: [{ name: 'default', match: {}, backend: 'ollama' }],
};

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

export function compileRoutes(config: InferenceConfig | undefined): RouteTable {
  const cfg = config ?? DEFAULT_INFERENCE;
  const backends = new Map(Object.entries(cfg.backends ?? {}));
  const routes = (cfg.routes ?? []).map(compile);
  return {
    backends,
    routes,
    extraHosts: [...new Set([...(cfg.hosts ?? []), ...routes.flatMap((r) => [...(r.hosts ?? [])])].map((h) => h.toLowerCase()))],
    match(api, model, sensitive, host) {
      for (const r of routes) {
        if (r.apis && !r.apis.has(api)) continue;
        if (r.hosts && !r.hosts.has(host)) continue;
        if (r.models && (model === undefined || !r.models.some((re) => re.test(model)))) continue;
        // Without a redaction engine nothing is known to be sensitive.
        if (r.sensitive !== undefined && r.sensitive !== (sensitive ?? false)) continue;
        return r;
      }
      return undefined;
    },
    matchApi(api, host) {
      return routes.find((r) => (!r.apis || r.apis.has(api)) && (!r.hosts || r.hosts.has(host)) && (!r.models || r.models.some((re) => re.source === '^.*$')) && r.sensitive !== true);
    },
  };
}
