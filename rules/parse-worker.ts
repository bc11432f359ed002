import { parentPort, workerData } from 'node:worker_threads';
import { parsePolicy } from './load.js';

// Runs in a worker thread (see parse-off-thread.ts): the result is plain data, cloned back.
const { text, file } = workerData as { text: string; file: string };
parentPort!.postMessage(parsePolicy(text, file));
