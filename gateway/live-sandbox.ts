import type { Readable } from 'node:stream';
import type { EventBus, SandboxEvent } from '../core/index.js';
import type { PreparedSandbox, RunningSandbox } from '../sandbox/index.js';
import type { OutputLog } from './output-log.js';
import { removeRecordDir, writeRecord } from './records.js';
import type { SandboxRecord } from './records.js';
import type { SandboxListener } from './sandbox-manager.js';

/**
 * One sandbox the gateway holds, and how its life ends: once the command has exited, its output
 * is drained, the exit code recorded and announced, its resources released; removal drops the
 * record, the policy and the output. Shared by the manager, policy changes and recovery.
 */
export interface Live {
  record: SandboxRecord;
  output: OutputLog;
  prepared?: PreparedSandbox;
  listener?: SandboxListener;
  running?: RunningSandbox;
  stdinTaken: boolean;
  stopping: boolean;
  /** The command has ended and its output is complete (exit code known). */
  exited: Promise<SandboxRecord>;
  /** …and its network, container and listener are gone too. */
  released: Promise<void>;
}

/** What the parts of the manager share: the state folder, the sandboxes by name, the bus. */
export interface Sandboxes {
  home: string;
  bus: EventBus;
  byName: Map<string, Live>;
}

export const AUTO_REMOVE_MS = 60_000;

export function emitSandbox(set: Sandboxes, record: SandboxRecord, activity: SandboxEvent['activity'], reason: string, exitCode?: number): void {
  set.bus.emit({ type: 'sandbox', time: Date.now(), sandbox: record.name, activity, driver: record.driver, ...(exitCode !== undefined ? { exitCode } : {}), reason });
}

/**
 * After the command: its output drained, the exit code recorded and announced (which is what an
 * attached `sluice run` waits for), then its resources released, off that path.
 */
export async function settle(set: Sandboxes, live: Live, code: number, streams: Promise<void>, autoRemove: boolean): Promise<SandboxRecord> {
  await streams;
  const { record } = live;
  record.state = live.stopping ? 'stopped' : 'exited';
  record.exitCode = code;
  record.finishedAt = new Date().toISOString();
  record.reason = live.stopping ? `stopped; the command exited with ${code}` : `the command exited with ${code}`;
  writeRecord(set.home, record);
  // why a command failed as Sluice saw it (a library the image lacks, a limit hit); read only on
  // a failure, so a command that succeeds reports at once
  const notes = code !== 0 ? await live.running?.exitNotes().catch(() => []) : undefined;
  live.output.finish({ exit_code: code, state: record.state, ...(notes?.length ? { notes } : {}) });
  emitSandbox(set, record, record.state === 'stopped' ? 'stopped' : 'exited', record.reason, code);
  live.released = (async () => {
    await live.running?.remove().catch(() => undefined);
    await live.listener?.close().catch(() => undefined);
  })();
  if (autoRemove) {
    void (async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([live.output.consumed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, AUTO_REMOVE_MS).unref()))]);
      clearTimeout(timer);
      if (set.byName.get(record.name) === live) await removeLive(set, live).catch(() => undefined);
    })();
  }
  return record;
}

export async function removeLive(set: Sandboxes, live: Live): Promise<void> {
  set.byName.delete(live.record.name);
  await live.released;
  await live.output.close();
  removeRecordDir(set.home, live.record.name);
  emitSandbox(set, live.record, 'removed', 'record, policy and output removed');
}

export function drain(stream: Readable | null, onChunk: (chunk: Buffer) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    stream.on('data', onChunk);
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

/** A background process that inherited the pipes cannot hold the exit open for ever. */
export function withGrace(streams: Promise<void>, ms = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([streams, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}
