import { parseBenchArgs } from './options.js';
import { runBench } from './run-bench.js';

/** `npm run bench [-- --quick] [--only SCENARIO,…] [--peers PEER,…|none] [--out DIR]` */
try {
  const options = parseBenchArgs(process.argv.slice(2));
  const { table, files } = await runBench(options);
  process.stdout.write(`${table}\n\nwrote ${files.join(', ')}\n`);
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
