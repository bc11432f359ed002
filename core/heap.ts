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
