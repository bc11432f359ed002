import { canonicalHost, formatAuthority } from '../core/index.js';
import type { Destination, HostClass } from '../core/index.js';
import { DEFAULT_LLM_HOSTS, VIRTUAL_HOST } from './apis.js';
import type { RouteTable } from './routes.js';

/**
 * Which destinations are LLM hosts under one inference configuration: api.openai.com,
 * api.anthropic.com and inference.local, every `hosts` entry and every host a route names (any
 * port), and every backend's own host and port. An agent that calls a backend directly through
 * the proxy meets the router there too, so a known endpoint is never a way around it.
 */
export interface LlmHosts {
  classOf(dest: Destination): HostClass;
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
  return {
    classOf(dest) {
      if (dest.host === VIRTUAL_HOST) return 'virtual';
      return names.has(dest.host) || authorities.has(dest.authority) ? 'provider' : 'other';
    },
  };
}
