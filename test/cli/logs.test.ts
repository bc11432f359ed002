import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { createAuditLog, readAuditLog } from '../../audit/index.js';
import type { AuditEntry } from '../../audit/index.js';
import { createEventBus } from '../../core/index.js';
import type { SluiceEvent } from '../../core/index.js';
import { parseSince } from '../../cli/logs.js';
import { tempDir } from '../helpers/sluice.js';
import { allEvents, llmCall, requestDenied } from '../audit/events.js';
import { runCli } from './io.js';

const NOW = Date.now();
const sandboxed = (e: SluiceEvent, sandbox: string, time: number): SluiceEvent =>
  ({ ...e, time, sandbox }) as SluiceEvent;

async function writeLog(home: string, events: SluiceEvent[], maxBytes?: number): Promise<void> {
  const bus = createEventBus();
  const audit = createAuditLog(bus, { file: path.join(home, 'audit', 'audit.jsonl'), ...(maxBytes ? { maxBytes } : {}) });
  for (const e of events) bus.emit(e);
  await audit.close();
}

t.test('sluice logs: aligned lines, the fix under a refusal, filters, --json', async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const old = allEvents.map((e, i) => sandboxed(e, 'sluice-old', NOW - 3 * 3600_000 + i));
  const denied: SluiceEvent = { ...requestDenied, time: NOW - 60_000, src: { ip: '10.1.0.2', port: 4000 }, sandbox: 'sluice-new', decision: { ...requestDenied.decision, remedy: { summary: 'add - allow: { method: POST, path: /repos/o/r/issues } to the rules of endpoint api.github.com:443 in network policy github', yaml: '' } } };
  const llm: SluiceEvent = { ...llmCall, time: NOW - 30_000, src: { ip: '10.1.0.2', port: 4001 }, sandbox: 'sluice-new' };
  await writeLog(home, [...old, denied, llm], 4096);
  t.ok(fs.existsSync(path.join(home, 'audit', 'audit.jsonl.1')), 'the log was rotated, so the reader has several files to read');

  const all = await runCli(['logs', '--home', home], { ...process.env, TZ: 'UTC' });
  t.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trimEnd().split('\n');
  t.ok(lines.length >= old.length + 2, 'every event is shown, rotated files first');
  const deniedLine = lines.find((l) => /DENY +sluice-new +POST +api\.github\.com\/repos\/o\/r\/issues/.test(l));
  t.ok(deniedLine, 'a refusal: verdict, sandbox, method, target');
  t.match(deniedLine, /403 +l7_denied: POST is not allowed/);
  t.match(lines[lines.indexOf(deniedLine!) + 1], /^ {21}fix: add - allow: \{ method: POST, path: \/repos\/o\/r\/issues \}/, 'its fix on the next line');
  const llmLine = lines.find((l) => /^\S+ \S+ +LLM /.test(l));
  t.match(llmLine, /openai-chat gpt-4o → local qwen3:8b +route default +stream +tokens 120\/48 +ttft 80ms +950ms +redacted email=2/, 'LLM calls: route, backend, model, tokens, ttft, time, redactions');
  const rows = lines.filter((l) => /^\d{4}-/.test(l));
  t.ok(rows.every((l) => /^.{21}\S+ +(sluice-old|sluice-new|-) /.test(l) && l[29] === ' ' && l[30] !== ' '), 'the sandbox column starts at the same place on every line');
  t.ok(rows.every((l) => l[46] === ' ' && l[47] !== ' '), 'and so does the method column');

  const onlyDenied = await runCli(['logs', '--denied', '--home', home]);
  const deniedRows = onlyDenied.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
  t.ok(deniedRows.length >= 3 && deniedRows.every((l) => /\b(DENY|AUDIT) /.test(l)), '--denied: refusals (and audited would-be refusals) only');

  const llmOnly = await runCli(['logs', '--llm', '--home', home]);
  t.equal(llmOnly.stdout.split('\n').filter((l) => /^\d{4}-/.test(l)).length, 2, '--llm: the two LLM calls only');

  const bySandbox = await runCli(['logs', '--sandbox', 'new', '--home', home]);
  t.equal(bySandbox.stdout.split('\n').filter((l) => /^\d{4}-/.test(l)).length, 2, '--sandbox NAME, with or without the sluice- prefix');

  const recent = await runCli(['logs', '--since', '10m', '--home', home]);
  t.equal(recent.stdout.split('\n').filter((l) => /^\d{4}-/.test(l)).length, 2, '--since 10m');

  const json = await runCli(['logs', '--json', '--denied', '--sandbox', 'sluice-new', '--home', home]);
  const records = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { class_uid: number; container: { name: string }; unmapped: { fix: { summary: string } } });
  t.equal(records.length, 1);
  t.match(records[0], { class_uid: 4002, container: { name: 'sluice-new' }, unmapped: { fix: { summary: /^add - allow/ } } }, '--json: the stored OCSF record');

  const none = await runCli(['logs', '--home', tempDir()]);
  t.equal(none.code, 0);
  t.match(none.stderr, /no matching events/);
});

t.test("sluice logs NAME is a sandbox's output: audit filters with it, or output flags without it, are usage errors", async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const mixed = await runCli(['logs', '--denied', 'agent1', '--home', home]);
  t.equal(mixed.code, 2);
  t.match(mixed.stderr, /--denied filters the audit log, not a sandbox's output: for agent1's audit events, `sluice logs --sandbox agent1`/);
  const bare = await runCli(['logs', '--stderr', '--home', home]);
  t.equal(bare.code, 2);
  t.match(bare.stderr, /--stderr selects a sandbox's output: name the sandbox/);
  const output = await runCli(['logs', '-f', 'agent1', '--home', home]);
  t.equal(output.code, 1, 'a sandbox name goes to the gateway');
  t.match(output.stderr, /sluice logs: no gateway is running/);
});

t.test('--since takes durations and dates', async (t) => {
  t.equal(parseSince('90s', 1_000_000), 910_000);
  t.equal(parseSince('10m', 1_000_000), 400_000);
  t.equal(parseSince('2h', 10_000_000), 10_000_000 - 7_200_000);
  t.equal(parseSince('1d', 100_000_000), 100_000_000 - 86_400_000);
  t.equal(parseSince('2026-03-01T12:00:00Z'), Date.parse('2026-03-01T12:00:00Z'));
  t.throws(() => parseSince('soon'), /--since expects/);
});

t.test('follow: events appended later arrive, across a rotation, until aborted', async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const file = path.join(home, 'audit', 'audit.jsonl');
  const bus = createEventBus();
  const audit = createAuditLog(bus, { file, maxBytes: 2048 });
  bus.emit({ ...requestDenied, time: NOW });
  await audit.flush();
  const controller = new AbortController();
  const seen: AuditEntry[] = [];
  let notify: (() => void) | undefined;
  const reading = (async () => {
    for await (const entry of readAuditLog(file, { follow: true, signal: controller.signal, pollMs: 50 })) {
      seen.push(entry);
      notify?.();
    }
  })();
  const until = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (seen.length >= count) resolve();
      };
      notify = check;
      check();
    });
  await until(1);
  // Enough events to rotate the 2 KiB file several times while the reader follows it.
  for (let i = 1; i <= 30; i++) bus.emit({ ...requestDenied, time: NOW + i, path: `/repos/o/r/issues/${i}` });
  await audit.flush();
  await until(31);
  controller.abort();
  await reading;
  await audit.close();
  t.equal(seen.length, 31, 'every event, none twice');
  t.same(seen.map((e) => e.event.time), Array.from({ length: 31 }, (_, i) => NOW + i), 'in order');
});
