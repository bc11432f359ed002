import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/index.js';
import type { PolicyParseResult } from './load.js';
import type { WarningOptions } from './warnings.js';

/**
 * Parses and validates policy text in a worker thread, so that a large policy (YAML parsing
 * and schema validation grow with it: ~50 ms per 1,000 endpoints on one core) never stalls the
 * connections the event loop serves while it reloads. The worker is started per parse: reloads
 * are rare, and nothing stays resident between them.
 */

export function parsePolicyOffThread(text: string, file: string, opts: WarningOptions = {}): Promise<PolicyParseResult> {
  return new Promise((resolve) => {
    const fail = (why: string) => resolve({ errors: [{ file, line: 1, col: 1, message: `policy could not be parsed: ${why}` }] });
    let worker: Worker;
    try {
      // The schema reaches redact/, whose C++ collector cannot be loaded a second time in one process
      // (its entry point resolves to re2.node's in a worker): the worker goes without it; validation needs only re2.
      worker = startWorker(import.meta.url, 'parse-worker', { workerData: { text, file, opts }, env: { ...process.env, SLUICE_NATIVE_COLLECTOR: '0' } });
    } catch (err) {
      fail((err as Error).message);
      return;
    }
    worker.once('message', (result: PolicyParseResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', (err) => fail(err.message));
    worker.once('exit', (code) => {
      if (code !== 0) fail(`the parser exited with code ${code}`);
    });
  });
}
