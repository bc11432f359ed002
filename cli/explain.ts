import { parseArgs } from 'node:util';
import { explain as explainRequest, PolicyLoadError } from '../app/index.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';
import { parseResolve } from './up.js';

export const EXPLAIN_USAGE = 'usage: sluice explain [--policy FILE] [--body JSON] [--header "NAME: VALUE"]... [--resolve HOST=IP]... [--home DIR] METHOD URL';

/**
 * `sluice explain`: what the live proxy would do with METHOD URL, step by step (host class,
 * CONNECT, canonical path, LLM call, network policy, route, credentials, address), decided by the
 * proxy's own pipeline without sending anything. Exits 0 when the request would be forwarded or
 * answered, 1 when refused.
 */
export async function explain(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      body: { type: 'string' },
      header: { type: 'string', multiple: true },
      resolve: { type: 'string', multiple: true },
      home: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 2) {
    io.stderr.write(`${EXPLAIN_USAGE}\n`);
    return 2;
  }
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) {
      io.stderr.write(`sluice explain: --header expects "NAME: VALUE", got "${h}"\n`);
      return 2;
    }
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const [method, url] = positionals as [string, string];
  try {
    const result = await explainRequest({
      home: resolveHome(values.home, io.env),
      ...(values.policy ? { policyFile: values.policy } : {}),
      method,
      url,
      ...(values.body !== undefined ? { body: values.body } : {}),
      headers,
      resolve: parseResolve(values.resolve),
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
