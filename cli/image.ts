import { parseArgs } from 'node:util';
import { buildBaseImage } from '../sandbox/index.js';
import type { CliIO } from './io.js';

/** `sluice image build [--force]`: the local base image for the docker driver (no registry needed). */
export async function image(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { force: { type: 'boolean' }, tag: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals[0] !== 'build') {
    io.stderr.write('usage: sluice image build [--force] [--tag NAME]\n');
    return 2;
  }
  const result = await buildBaseImage({ ...(values.force ? { force: true } : {}), ...(values.tag ? { tag: values.tag } : {}), onProgress: (m: string) => io.stderr.write(`${m}\n`) });
  io.stdout.write(`${result.image} ${result.built ? `built in ${(result.ms / 1000).toFixed(1)} s` : 'already present'}\n`);
  return 0;
}
