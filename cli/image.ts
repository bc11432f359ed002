import { buildBaseImage } from '../sandbox/index.js';
import { flag, list, str } from './args.js';
import type { Invocation } from './args.js';
import type { CliIO } from './io.js';

/** `sluice image build [--force] [--tag NAME] [--for CMD]…`: the local base image for the docker driver (no registry needed). */
export async function image(inv: Invocation, io: CliIO): Promise<number> {
  const tag = str(inv, 'tag');
  const commands = list(inv, 'for');
  const result = await buildBaseImage({
    ...(flag(inv, 'force') ? { force: true } : {}),
    ...(tag ? { tag } : {}),
    ...(commands.length ? { for: commands } : {}),
    onProgress: (m: string) => io.stderr.write(`${m}\n`),
  });
  io.stdout.write(`${result.image} ${result.built ? `built in ${(result.ms / 1000).toFixed(1)} s` : 'already present'}\n`);
  return 0;
}
