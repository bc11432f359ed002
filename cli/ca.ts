import { parseArgs } from 'node:util';
import { loadOrCreateCA } from '../certs/index.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

/** `sluice ca path` prints the CA certificate's path; `sluice ca export` prints the PEM. */
export async function ca(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { home: { type: 'string' } }, allowPositionals: true, strict: true });
  const sub = positionals[0];
  if (sub !== 'path' && sub !== 'export') {
    io.stderr.write('usage: sluice ca path|export [--home DIR]\n');
    return 2;
  }
  const authority = await loadOrCreateCA(resolveHome(values.home, io.env));
  io.stdout.write(sub === 'path' ? `${authority.certPath}\n` : authority.certPem.endsWith('\n') ? authority.certPem : `${authority.certPem}\n`);
  return 0;
}
