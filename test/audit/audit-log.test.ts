import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import t from 'tap';
import type { Test } from 'tap';
import { createAuditLog } from '../../audit/index.js';
import { createEventBus } from '../../core/index.js';
import type { SluiceEvent } from '../../core/index.js';
import { allEvents, connectDenied, requestAllowed } from './events.js';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-audit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function readLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  t.ok(text === '' || text.endsWith('\n'), 'file ends on a line boundary');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function numbered(i: number): SluiceEvent {
  return { ...connectDenied, time: connectDenied.time + i, src: { ip: '127.0.0.1', port: 10_000 + i } };
}

t.test('writes one OCSF object per line, file 0600, no query strings', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'logs', 'audit.jsonl');
  const bus = createEventBus();
  const log = createAuditLog(bus, { file });
  t.equal(log.file, file);
  for (const event of allEvents) bus.emit(event);
  await log.close();
  const records = await readLines(file);
  t.equal(records.length, allEvents.length);
  t.same(
    records.map((r) => r.class_uid),
    [4001, 4001, 4001, 4002, 4002, 4002, 5019, 5019, 4001, 4002, 2004],
  );
  t.same(records.map((r) => r.time), allEvents.map((e) => e.time), 'in emit order');
  t.equal((await stat(file)).mode & 0o777, 0o600, 'log file is 0600');
  const raw = await readFile(file, 'utf8');
  t.notMatch(raw, /\?|SECRET123|access_token|api-version/, 'no query string reaches the disk');
});

t.test('emit returns before the disk is touched, and close flushes everything', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'audit.jsonl');
  const bus = createEventBus();
  const log = createAuditLog(bus, { file });
  const n = 5000;
  for (let i = 0; i < n; i++) bus.emit(numbered(i));
  // Checked before yielding to the event loop: the listener only queued, it did not even open the file.
  t.notOk(existsSync(file), 'emit returned without touching the disk');
  await log.close();
  const records = await readLines(file);
  t.equal(records.length, n, 'every event written by close()');
  t.same(
    records.map((r) => (r.src_endpoint as { port: number }).port),
    Array.from({ length: n }, (_, i) => 10_000 + i),
    'none lost or reordered',
  );
  bus.emit(numbered(n));
  await log.close();
  t.equal((await readLines(file)).length, n, 'events after close are not recorded, and close is idempotent');
});

t.test('flush() waits for queued events while the log stays open', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'audit.jsonl');
  const bus = createEventBus();
  const log = createAuditLog(bus, { file });
  t.teardown(() => log.close());
  bus.emit(requestAllowed);
  await log.flush();
  t.equal((await readLines(file)).length, 1);
  bus.emit(requestAllowed);
  await log.flush();
  t.equal((await readLines(file)).length, 2);
});

t.test('queued events reach the disk on their own, with no flush() or close()', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'audit.jsonl');
  const bus = createEventBus();
  const log = createAuditLog(bus, { file });
  t.teardown(() => log.close());
  bus.emit(requestAllowed);
  bus.emit(connectDenied);
  // Writes are gathered for a few ms; whatever the load, they must not wait for a flush that never comes.
  const deadline = Date.now() + 10_000;
  let lines = 0;
  while (lines < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    lines = existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter(Boolean).length : 0;
  }
  t.equal(lines, 2, 'both events written by the batch timer');
});

t.test('size-based rotation keeps maxFiles files, whole lines, newest last', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'audit.jsonl');
  const bus = createEventBus();
  const lineBytes = JSON.stringify((await import('../../audit/index.js')).toOcsf(numbered(0))).length + 1;
  const maxBytes = lineBytes * 10 + 5;
  const log = createAuditLog(bus, { file, maxBytes, maxFiles: 3 });
  const n = 55;
  for (let i = 0; i < n; i++) {
    bus.emit(numbered(i));
    // Interleave flushes so rotation also happens between writes, not only within one batch.
    if (i % 7 === 0) await log.flush();
  }
  await log.close();
  const names = (await readdir(dir)).sort();
  t.same(names, ['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2', 'audit.jsonl.3'], 'file and three rotated files');
  const ports: number[] = [];
  for (const name of ['audit.jsonl.3', 'audit.jsonl.2', 'audit.jsonl.1', 'audit.jsonl']) {
    const size = (await stat(path.join(dir, name))).size;
    t.ok(size <= maxBytes, `${name} is ${size} ≤ ${maxBytes} bytes`);
    for (const r of await readLines(path.join(dir, name))) ports.push((r.src_endpoint as { port: number }).port);
  }
  // 55 lines of ten per file: 0–19 rotated away, .3 = 20–29, .2 = 30–39, .1 = 40–49, current = 50–54.
  t.equal(ports.length, 35);
  t.same(ports, Array.from({ length: 35 }, (_, i) => 10_000 + 20 + i), 'the oldest lines rotated away, the rest in order');
});

t.test('an existing large file is rotated on the first write', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'audit.jsonl');
  await writeFile(file, `${'x'.repeat(2000)}\n`);
  const bus = createEventBus();
  const log = createAuditLog(bus, { file, maxBytes: 1000, maxFiles: 2 });
  bus.emit(connectDenied);
  await log.close();
  t.equal((await readLines(file)).length, 1);
  t.equal((await readFile(`${file}.1`, 'utf8')).length, 2001, 'old content moved to .1');
});

t.test('a write error neither crashes nor throws into the emitter', async (t) => {
  const dir = await tempDir(t);
  // The log path is a directory: every open fails with EISDIR.
  const file = path.join(dir, 'audit.jsonl');
  await mkdir(file);
  const bus = createEventBus();
  const errors: Error[] = [];
  const log = createAuditLog(bus, { file, onError: (err) => errors.push(err) });
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  for (let i = 0; i < 20; i++) t.doesNotThrow(() => bus.emit(numbered(i)));
  await log.close();
  t.equal(errors.length, 1, 'reported once per failure streak');
  t.match(errors[0]?.message, /EISDIR|illegal operation on a directory/);
  t.equal(log.dropped, 20, 'lost events are counted');
  t.same(warnings.filter((w) => w.includes('event listener failed')), [], 'the bus saw no listener failure');
});

t.test('recovers after a transient write error', async (t) => {
  const dir = await tempDir(t);
  const logs = path.join(dir, 'logs');
  await writeFile(logs, 'not a directory');
  const file = path.join(logs, 'audit.jsonl');
  const bus = createEventBus();
  const errors: Error[] = [];
  const log = createAuditLog(bus, { file, onError: (err) => errors.push(err) });
  bus.emit(numbered(1));
  await log.flush();
  t.equal(log.dropped, 1);
  await rm(logs);
  bus.emit(numbered(2));
  await log.close();
  t.equal((await readLines(file)).length, 1, 'the next event is written once the path works');
  t.equal(errors.length, 1);
});

t.test('an event that cannot be mapped is reported, not thrown', async (t) => {
  const dir = await tempDir(t);
  const bus = createEventBus();
  const errors: Error[] = [];
  const log = createAuditLog(bus, { file: path.join(dir, 'a.jsonl'), onError: (err) => errors.push(err) });
  const broken = { type: 'connect', time: 1 } as unknown as SluiceEvent;
  t.doesNotThrow(() => bus.emit(broken));
  bus.emit(connectDenied);
  await log.close();
  t.equal(errors.length, 1);
  t.match(errors[0]?.message, /cannot record connect event/);
  t.equal((await readLines(path.join(dir, 'a.jsonl'))).length, 1);
});

t.test('--verbose writes one human line per event', async (t) => {
  const dir = await tempDir(t);
  const human = new PassThrough();
  let text = '';
  human.setEncoding('utf8');
  human.on('data', (chunk: string) => (text += chunk));
  const bus = createEventBus();
  const log = createAuditLog(bus, { file: path.join(dir, 'a.jsonl'), human });
  for (const event of allEvents) bus.emit(event);
  await log.close();
  const lines = text.split('\n').filter((l) => l !== '');
  t.equal(lines.length, allEvents.length);
  t.match(lines[1], /DENY {4}CONNECT evil\.example:443 policy_denied/);
  t.notMatch(text, /\?|SECRET123/);
});

t.test('a broken human stream does not crash the process or stop the file', async (t) => {
  const dir = await tempDir(t);
  const human = new Writable({
    write(_chunk, _enc, cb) {
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  const bus = createEventBus();
  const log = createAuditLog(bus, { file: path.join(dir, 'a.jsonl'), human, onError: () => undefined });
  for (const event of allEvents) bus.emit(event);
  await new Promise((resolve) => setImmediate(resolve));
  await log.close();
  t.equal((await readLines(path.join(dir, 'a.jsonl'))).length, allEvents.length);
});
