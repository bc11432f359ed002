import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './fork-child.js';
import type { BenchResults } from './report/model.js';
import { readmeTableOf, renderReadmeTable, spliceReadme } from './report/readme-table.js';

/**
 * `node dist/bench/readme-table.js [--write] [RESULTS.json]`: prints the README's bench table as
 * rendered from a results file (bench/results/latest.json unless told), or writes it into README.md.
 */
const args = process.argv.slice(2);
const write = args.includes('--write');
const file = args.find((a) => !a.startsWith('--')) ?? join(repoRoot(), 'bench', 'results', 'latest.json');
try {
  const table = renderReadmeTable(JSON.parse(await readFile(file, 'utf8')) as BenchResults);
  if (!write) process.stdout.write(`${table}\n`);
  else {
    const path = join(repoRoot(), 'README.md');
    const readme = await readFile(path, 'utf8');
    if (readmeTableOf(readme) !== table) await writeFile(path, spliceReadme(readme, table));
    process.stderr.write(`README.md's bench table is ${file}'s\n`);
  }
} catch (err) {
  process.stderr.write(`readme-table: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
