import { parentPort, workerData } from 'node:worker_threads';
import { parsePolicy } from './load.js';
import type { WarningOptions } from './warnings.js';

// Runs in a worker thread (see parse-off-thread.ts): the result is plain data, cloned back.
const { text, file, opts } = workerData as { text: string; file: string; opts: WarningOptions };
parentPort!.postMessage(parsePolicy(text, file, opts));
