import { parseBenchArgs, runBench } from '../bench/index.js';
import type { Invocation } from './args.js';
import type { CliIO } from './io.js';

/** `sluice bench [--quick] [--only SCENARIO,…] [--peers PEER,…|none] [--out DIR]`: the same as `npm run bench`. */
export async function bench(inv: Invocation, io: CliIO): Promise<number> {
  const options = parseBenchArgs(inv.words);
  const { table, files } = await runBench(options, (line) => io.stderr.write(`${line}\n`));
  io.stdout.write(`${table}\n\nwrote ${files.join(', ')}\n`);
  return 0;
}
