import { parentPort, workerData } from 'node:worker_threads';
import { createDetector } from './detector.js';
import { PER_SPAN } from './detector.js';
import { privacyPlan } from './privacy-detector.js';
import type { PrivacyConfig } from './schema.js';

/**
 * A thread of the detection pool (detect-pool.ts): the redactor's detector, built from the same `privacy`
 * section, scanning whole texts (there is no event loop here to give back) and answering with packed spans.
 */
export interface DetectRequest {
  id: number;
  texts: string[];
}
export type DetectReply = { id: number; spans: Int32Array[] } | { id: number; error: string };

const detector = createDetector(privacyPlan(workerData as PrivacyConfig).detector);
// The pool checks, before it sends any text, that both detectors number the types alike.
parentPort!.postMessage({ ready: detector.types });
parentPort!.on('message', ({ id, texts }: DetectRequest) => {
  let reply: DetectReply;
  try {
    const spans = texts.map((t) => {
      const { data, count } = detector.detectPacked(t);
      return data.slice(0, PER_SPAN * count);
    });
    reply = { id, spans };
  } catch (err) {
    reply = { id, error: (err as Error).message };
  }
  parentPort!.postMessage(reply, 'spans' in reply ? reply.spans.map((s) => s.buffer as ArrayBuffer) : []);
});
