import { explain as explainRequest, PolicyLoadError } from '../app/index.js';
import { UsageError, list, str } from './args.js';
import type { Invocation } from './args.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';
import { parseResolve } from './up.js';

/**
 * `sluice explain`: what the live proxy would do with METHOD URL, step by step (host class,
 * CONNECT, canonical path, LLM call, network policy, route, credentials, address), decided by the
 * proxy's own pipeline without sending anything. Exits 0 when the request would be forwarded or
 * answered, 1 when refused.
 */
export async function explain(inv: Invocation, io: CliIO): Promise<number> {
  const headers: Record<string, string> = {};
  for (const h of list(inv, 'header')) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header expects "NAME: VALUE", got "${h}"`, inv.command);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const [method, url] = inv.positionals as [string, string];
  const policyFile = str(inv, 'policy');
  const body = str(inv, 'body');
  try {
    const result = await explainRequest({
      home: resolveHome(inv.home, io.env),
      ...(policyFile ? { policyFile } : {}),
      method,
      url,
      ...(body !== undefined ? { body } : {}),
      headers,
      resolve: parseResolve(list(inv, 'resolve')),
      env: io.env,
    });
    for (const line of result.lines) io.stdout.write(`${line}\n`);
    return result.outcome === 'refuse' ? 1 : 0;
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      for (const line of err.errors) io.stderr.write(`${line}\n`);
      return 1;
    }
    throw err;
  }
}
