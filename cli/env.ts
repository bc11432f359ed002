import path from 'node:path';
import { effectiveInference, routedKeys } from '../app/index.js';
import { createEventBus } from '../core/index.js';
import { createCredentials } from '../credentials/index.js';
import { compilePolicy, loadPolicyFile, parsePolicy, formatPolicyError, DEFAULT_POLICY_YAML } from '../rules/index.js';
import { flag, str } from './args.js';
import type { Invocation } from './args.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

/**
 * `sluice env [--policy FILE] [--sandbox NAME [--proxy URL]] [--home DIR] [--export]`: the
 * environment a sandbox should get — one placeholder per provider (and per built-in provider the
 * routes answer locally), never a real secret, and for
 * a named sandbox the proxy URL carrying the credential that identifies it. Placeholders are
 * derived from the state key in the home folder, so they match what a running `sluice up`
 * with the same home accepts; no secret source is read.
 */
export async function env(inv: Invocation, io: CliIO): Promise<number> {
  const values = { policy: str(inv, 'policy'), sandbox: str(inv, 'sandbox'), export: flag(inv, 'export'), proxy: str(inv, 'proxy') };
  const loaded = values.policy ? await loadPolicyFile(values.policy) : parsePolicy(DEFAULT_POLICY_YAML, '<default policy>');
  if (!loaded.policy || loaded.errors.length) {
    for (const e of loaded.errors) io.stderr.write(`${formatPolicyError(e)}\n`);
    return 1;
  }
  const credentials = await createCredentials(loaded.policy.providers, {
    home: resolveHome(inv.home, io.env),
    env: io.env,
    bus: createEventBus(),
    placeholdersOnly: true,
    ...(values.policy ? { baseDir: path.dirname(path.resolve(values.policy)) } : {}),
  });
  try {
    // Providers the routes answer get their key variable too, as `sluice run` gives the sandbox.
    const routed = routedKeys(effectiveInference(loaded.policy, compilePolicy(loaded.policy)));
    credentials.setRouted(routed.profiles, routed.hosts);
    const vars = credentials.envFor(values.sandbox ?? 'default');
    // A named sandbox on a shared listener proves its name with the credential issued to it.
    if (values.sandbox !== undefined) {
      const proxy = new URL(values.proxy ?? 'http://127.0.0.1:3128');
      proxy.username = 'sluice';
      proxy.password = encodeURIComponent(`${values.sandbox}:${credentials.proxyTokenFor(values.sandbox)}`);
      vars.HTTPS_PROXY = vars.HTTP_PROXY = proxy.href.replace(/\/$/, '');
    }
    for (const [name, value] of Object.entries(vars)) io.stdout.write(`${values.export ? 'export ' : ''}${name}=${value}\n`);
    if (Object.keys(vars).length === 0) io.stderr.write('sluice env: the policy has no providers and routes none locally; nothing to print\n');
  } finally {
    credentials.close();
  }
  return 0;
}
