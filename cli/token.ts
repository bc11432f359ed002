import { parseArgs } from 'node:util';
import { createToken, listTokens, revokeToken } from '../gateway/index.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

const USAGE = 'usage: sluice token create --scope admin|read [--name NAME] | sluice token list | sluice token revoke ID  [--home DIR]';

/**
 * Bearer tokens for the gateway's TCP API (`sluice up --api-listen`). They live in the state
 * folder (only their SHA-256), so no gateway needs to run; a running one sees changes at once.
 * The token is printed once, on stdout; it cannot be shown again.
 */
export async function token(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { scope: { type: 'string' }, name: { type: 'string' }, home: { type: 'string' } }, allowPositionals: true, strict: true });
  const home = resolveHome(values.home, io.env);
  const [sub, ...rest] = positionals;
  if (sub === 'create' && rest.length === 0) {
    if (values.scope !== 'admin' && values.scope !== 'read') {
      io.stderr.write(`sluice token create: --scope must be admin or read\n${USAGE}\n`);
      return 2;
    }
    const { token: value, info } = await createToken(home, values.scope, values.name ?? '');
    io.stderr.write(`sluice: token ${info.id} (${info.scope}${info.name ? `, ${info.name}` : ''}) created; it is shown only this once\n`);
    io.stdout.write(`${value}\n`);
    return 0;
  }
  if (sub === 'list' && rest.length === 0) {
    io.stdout.write(`${['ID', 'SCOPE', 'NAME', 'CREATED'].join('\t')}\n`);
    for (const t of await listTokens(home)) io.stdout.write(`${[t.id, t.scope, t.name || '-', t.createdAt].join('\t')}\n`);
    return 0;
  }
  if (sub === 'revoke' && rest.length === 1) {
    if (await revokeToken(home, rest[0]!)) return 0;
    io.stderr.write(`sluice token revoke: no token with id ${rest[0]}\n`);
    return 1;
  }
  io.stderr.write(`${USAGE}\n`);
  return 2;
}
