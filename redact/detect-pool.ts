import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/index.js';
import type { DetectReply, DetectRequest } from './detect-worker.js';
import type { PrivacyConfig } from './schema.js';

/**
 * Detection of large texts on worker threads, so that a request carrying a long conversation never stalls
 * the other connections the event loop serves (at 25–70 MB/s, 500 KB of new text is 7–20 ms). It finds
 * positions and types only: which pseudonym a value gets stays with the vault on the main thread, so a
 * conversation's numbering is the same whichever thread scanned it.
 *
 * Workers start on the first job and stop after IDLE_MS without one: a Sluice whose agents send small
 * requests never pays for them. They run the detector's JavaScript loop: the C++ collector links against
 * re2.node, and loading it a second time in one process (in a worker) aborts Node.
 */
export interface DetectPool {
  /** Threads the pool may run. */
  readonly size: number;
  /** Packed spans of each text, as the redactor's own detector would find them; rejects when a worker failed. */
  detect(texts: string[]): Promise<Int32Array[]>;
  /** Jobs answered by a worker since the pool was made. */
  readonly jobs: number;
  close(): Promise<void>;
}

export interface DetectPoolOptions {
  /** Threads; by default one per core but the one the event loop runs on (at least one). */
  size?: number;
  /** The main thread's detector types: a worker whose types differ is refused. */
  types: readonly string[];
  idleMs?: number;
}

const IDLE_MS = 30_000;

interface Job {
  texts: string[];
  resolve(spans: Int32Array[]): void;
  reject(err: Error): void;
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  busy?: { id: number; job: Job };
  idleTimer?: NodeJS.Timeout;
}

export function createDetectPool(config: PrivacyConfig | undefined, opts: DetectPoolOptions): DetectPool {
  const size = Math.max(1, opts.size ?? availableParallelism() - 1);
  const idleMs = opts.idleMs ?? IDLE_MS;
  const threads = new Set<Thread>();
  const queue: Job[] = [];
  let nextId = 0;
  let jobs = 0;
  let closed = false;

  function spawn(): Thread {
    const worker = startWorker(import.meta.url, 'detect-worker', { workerData: config ?? {}, env: { ...process.env, SLUICE_NATIVE_COLLECTOR: '0' } });
    const thread: Thread = { worker, ready: Promise.resolve() };
    thread.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (m: { ready?: readonly string[] }) => {
        if (m.ready && m.ready.length === opts.types.length && m.ready.every((t, i) => t === opts.types[i])) resolve();
        else reject(new Error('a detection worker numbers entity types differently from the redactor'));
      });
    });
    worker.on('message', (m: DetectReply | { ready: unknown }) => {
      if (!('id' in m) || thread.busy?.id !== m.id) return;
      const { job } = thread.busy;
      thread.busy = undefined;
      jobs++;
      if ('error' in m) job.reject(new Error(`detection worker: ${m.error}`));
      else job.resolve(m.spans);
      next(thread);
    });
    const fail = (err: Error): void => {
      threads.delete(thread);
      clearTimeout(thread.idleTimer);
      thread.busy?.job.reject(err);
      thread.busy = undefined;
      // A queued job must not wait for a worker that will never come: it gets a fresh one.
      if (queue.length) dispatch();
    };
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`detection worker exited with code ${code}`)));
    threads.add(thread);
    return thread;
  }

  /** Gives `thread` the next queued job, or lets it idle (unref'd: an idle worker keeps no process alive). */
  function next(thread: Thread): void {
    const job = queue.shift();
    if (!job) {
      thread.worker.unref();
      thread.idleTimer = setTimeout(() => {
        // Out of the set first, so that no job is handed to a worker on its way out.
        threads.delete(thread);
        void thread.worker.terminate();
      }, idleMs).unref();
      return;
    }
    clearTimeout(thread.idleTimer);
    thread.worker.ref();
    const id = nextId++;
    thread.busy = { id, job };
    thread.ready.then(
      () => thread.worker.postMessage({ id, texts: job.texts } satisfies DetectRequest),
      (err: Error) => {
        thread.busy = undefined;
        job.reject(err);
        void thread.worker.terminate();
      },
    );
  }

  function dispatch(): void {
    for (const t of threads) if (!t.busy && queue.length) next(t);
    while (queue.length && threads.size < size) next(spawn());
  }

  return {
    size,
    get jobs() {
      return jobs;
    },
    detect(texts) {
      if (closed) return Promise.reject(new Error('the detection pool is closed'));
      return new Promise((resolve, reject) => {
        queue.push({ texts, resolve, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('the detection pool is closed'));
      await Promise.all([...threads].map((t) => t.worker.terminate()));
    },
  };
}
