import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits beside the module `beside` (its import.meta.url):
 * compiled (`.js`) as Sluice runs, or as source (`.ts`) under the test runner. The test runner
 * loads TypeScript through tsx's `--import` hook, which does not reach a worker thread here: a
 * worker given a `.ts` file fails with "Unknown file extension". From source, the worker therefore
 * starts from a one-line bootstrap that registers tsx in the worker first (tsx is a devDependency,
 * present wherever the source runs).
 */
export function startWorker(beside: string, name: string, options: WorkerOptions): Worker {
  const extension = path.extname(fileURLToPath(beside));
  const entry = new URL(`./${name}${extension}`, beside);
  if (extension !== '.ts') return new Worker(entry, options);
  // its ESM entry (the `import` condition), resolved from here
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
