import { canonicalHost, formatAuthority } from '../core/index.js';
import type { Destination, HostClass } from '../core/index.js';
import { DEFAULT_LLM_HOSTS, GITHUB_API_HOST, VIRTUAL_HOST, isCopilotHost } from './apis.js';
import type { RouteTable } from './routes.js';

/**
 * Which destinations are LLM hosts under one inference configuration: api.openai.com,
 * api.anthropic.com, every *.githubcopilot.com and inference.local, every `hosts` entry and every
 * host a route names (any port), and every backend's own host and port. An agent that calls a
 * backend directly through the proxy meets the router there too, so a known endpoint is never a
 * way around it. api.github.com is `mixed`: Copilot's session paths there are the router's.
 */
export interface LlmHosts {
  classOf(dest: Destination): HostClass;
  /**
   * The path as the router's API table knows it: on a host whose `hosts` entry has a prefix, a
   * path under that prefix is read as under /v1 (`/compatible-mode/v1/chat/completions` is
   * `/v1/chat/completions`) and any other path is no API path at all (undefined: such a host
   * serves its API under the prefix only, so `/v1/chat/completions` there is unrecognised); on
   * other hosts every path as it is. Only detection reads it: what is forwarded and judged by the
   * policy is the path as sent.
   */
  apiPath(dest: Destination, path: string): string | undefined;
}

function canonical(host: string): string | undefined {
  try {
    return canonicalHost(host).host;
  } catch {
    return undefined;
  }
}

export function llmHosts(table: RouteTable): LlmHosts {
  const names = new Set<string>();
  for (const host of [...DEFAULT_LLM_HOSTS, ...table.extraHosts]) {
    const c = canonical(host);
    if (c !== undefined) names.add(c);
  }
  const authorities = new Set<string>();
  for (const backend of table.backends.values()) {
    const url = new URL(backend.url);
    const host = canonical(url.hostname);
    if (host !== undefined) authorities.add(formatAuthority(host, url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)));
  }
  const prefixes = new Map<string, readonly string[]>();
  for (const [host, list] of table.prefixes) {
    const c = canonical(host);
    if (c !== undefined) prefixes.set(c, list);
  }
  return {
    apiPath(dest, path) {
      const list = prefixes.get(dest.host);
      if (list === undefined) return path;
      for (const prefix of list) {
        if (path === prefix) return '/v1';
        if (path.startsWith(`${prefix}/`)) return `/v1${path.slice(prefix.length)}`;
      }
      return undefined;
    },
    classOf(dest) {
      if (dest.host === VIRTUAL_HOST) return 'virtual';
      if (names.has(dest.host) || authorities.has(dest.authority) || isCopilotHost(dest.host)) return 'provider';
      return dest.host === GITHUB_API_HOST ? 'mixed' : 'other';
    },
  };
}
