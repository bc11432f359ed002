import v8 from 'node:v8';
import { lazyAddon } from './native-addon.js';
import type { LoadedAddon } from './native-addon.js';

interface NativeHeap {
  releaseMemory(): void;
}

/** The addon, loaded on first use, and why it did or did not load. */
export const nativeHeap: () => LoadedAddon<NativeHeap> = lazyAddon<NativeHeap>('sluice_heap', import.meta.url);

/**
 * Asks V8 to collect what it can and give memory back to the system (core/native/heap.cc). Meant
 * for the moment a process has finished a burst of allocation it will not repeat: `sluice up` once
 * it listens (start-up grew the young generation to its maximum, ~11 MB of resident memory, which
 * V8's memory reducer would otherwise keep ~8 s longer). A few tens of milliseconds of full
 * collections; a no-op, saying why, when the addon is not built or did not load.
 */
export function releaseMemory(): { released: boolean; reason: string } {
  const { addon, reason } = nativeHeap();
  if (!addon) return { released: false, reason };
  addon.releaseMemory();
  return { released: true, reason };
}

/**
 * How far V8 lets the old generation grow past what the last full collection kept, as V8's
 * `--heap-growing-percent` (the limit is the kept size times 1 + this / 100).
 *
 * A proxy's old generation is mostly what start-up made (the policy, the modules, the CA: ~13-16 MB);
 * its traffic is young garbage and body buffers outside the heap. V8 counts the bytes of those
 * buffers allocated since the last full collection against the old generation's limit, and frees
 * them only when a collection finds them dead; the limit its own rule sets for a heap this small
 * (1.1-2× the kept size) was met every ~16 MB an upload or download moved: ~4 mark-compacts per
 * 64 MiB body, 122 over the bench's large-body lane (500 ms of pauses, and the marking threads' CPU
 * on top). With the limit at 3× the kept size the scavenges free the buffers first: none after the
 * first body, and the large lane's CPU per MB fell from 6.1 to 4.5 (upload), 6.0 to 3.9 (source
 * text) and 5.0 to 3.8 (download) in one run of each; idle memory rose by under 1 MB. That was with
 * the whole of undici loaded by the first upstream (~6 MB kept: ~57 MB of limit); with only its pool
 * (core/undici.ts, ~2.5 MB) 3× was ~46 MB, met again (2-3 mark-compacts per 128 MiB once warm, 1 at
 * 3.5×), and 4× (~60 MB) has none again.
 */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Sets V8's heap growth for a process that runs a proxy (`sluice up`, `sluice run`), unless the
 * process was started with its own `--heap-growing-percent` (in its arguments or NODE_OPTIONS),
 * which is kept. Returns the percentage in force, or undefined when V8's own rule is kept.
 */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): number | undefined {
  const own = [...execArgv, ...nodeOptions.split(/\s+/)].map((a) => /^--heap[-_]growing[-_]percent(?:=(\d+))?$/.exec(a)).find((m) => m !== null);
  if (own) return own[1] === undefined || own[1] === '0' ? undefined : Number(own[1]);
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
