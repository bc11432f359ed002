import { UsageError, str } from './args.js';
import type { Invocation } from './args.js';
import { createToken, listTokens, revokeToken } from '../gateway/index.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

/**
 * Bearer tokens for the gateway's TCP API (`sluice up --api-listen`). They live in the state
 * folder (only their SHA-256), so no gateway needs to run; a running one sees changes at once.
 * The token is printed once, on stdout; it cannot be shown again.
 */
export async function tokenCreate(inv: Invocation, io: CliIO): Promise<number> {
  const scope = str(inv, 'scope');
  if (scope !== 'admin' && scope !== 'read') throw new UsageError('--scope must be admin or read', inv.command);
  const { token: value, info } = await createToken(resolveHome(inv.home, io.env), scope, str(inv, 'name') ?? '');
  io.stderr.write(`sluice: token ${info.id} (${info.scope}${info.name ? `, ${info.name}` : ''}) created; it is shown only this once\n`);
  io.stdout.write(`${value}\n`);
  return 0;
}

export async function tokenList(inv: Invocation, io: CliIO): Promise<number> {
  io.stdout.write(`${['ID', 'SCOPE', 'NAME', 'CREATED'].join('\t')}\n`);
  for (const t of await listTokens(resolveHome(inv.home, io.env))) io.stdout.write(`${[t.id, t.scope, t.name || '-', t.createdAt].join('\t')}\n`);
  return 0;
}

export async function tokenRevoke(inv: Invocation, io: CliIO): Promise<number> {
  const id = inv.positionals[0]!;
  if (await revokeToken(resolveHome(inv.home, io.env), id)) return 0;
  io.stderr.write(`sluice token revoke: no token with id ${id}\n`);
  return 1;
}
