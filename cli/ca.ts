import { loadOrCreateCA } from '../certs/index.js';
import type { Invocation } from './args.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

/** `sluice ca path`: the CA certificate's path (the CA is created on first use). */
export async function caPath(inv: Invocation, io: CliIO): Promise<number> {
  const authority = await loadOrCreateCA(resolveHome(inv.home, io.env));
  io.stdout.write(`${authority.certPath}\n`);
  return 0;
}

/** `sluice ca export`: the CA certificate as PEM. */
export async function caExport(inv: Invocation, io: CliIO): Promise<number> {
  const authority = await loadOrCreateCA(resolveHome(inv.home, io.env));
  io.stdout.write(authority.certPem.endsWith('\n') ? authority.certPem : `${authority.certPem}\n`);
  return 0;
}
