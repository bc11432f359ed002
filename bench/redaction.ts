/**
 * Redaction lane: Sluice's re2 engine against the `redact-pii` npm package on the same labeled corpus
 * (test/redact/corpus/corpus.jsonl). Two workloads of ~10 KB prompts, both engines on the same prompts:
 * - corpus prompts (the top-level `sluice`/`redactPii` figures): corpus samples back to back, about one
 *   entity per 100 bytes, the pessimistic case (every recognizer fires, every entity costs a call into re2);
 * - typical prompts (`typical`): prose and code with a corpus sample every ~1.5 KB;
 * - conversations (`conversation`): requests as agents send them to stateless LLM APIs, the whole history plus one
 *   new corpus prompt per turn, through `redactLlmRequest` (Sluice remembers the detections of texts it has seen;
 *   redact-pii, like any engine without that, redacts every message again).
 * Accuracy is per entity type over the whole corpus; redact-pii runs one built-in at a time so that its
 * spans can be read back (it returns text only).
 *
 * Standalone: npx tsx bench/redaction.ts [--quick] [--json]. The harness runs it that way, in a process of its
 * own, so that what the other lanes left on the heap does not show up as garbage-collection pauses here.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import redactPii from 'redact-pii';
import { AccuracyTally, createRedactor } from '../redact/index.js';
import type { LabeledSpan, TypeScore } from '../redact/index.js';

export interface ThroughputFigures {
  /** UTF-8 megabytes (1e6) per second of wall-clock time over all prompts. */
  mbPerSec: number;
  /** The same per second of this process's CPU time: less distorted when the machine is shared. */
  cpuMbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  prompts: number;
  promptBytes: number;
}

export interface EngineFigures extends ThroughputFigures {
  /** Precision/recall per entity type on the corpus. */
  accuracy: Record<string, TypeScore>;
}

/** One workload: both engines on the same prompts. */
export interface WorkloadFigures {
  sluice: ThroughputFigures;
  redactPii: ThroughputFigures;
  speedup: number;
}

export interface RedactionBenchResult {
  corpus: { file: string; samples: number; entities: number };
  /**
   * Prompts of prose and code with a corpus sample every ~1.5 KB (≈ 7 entities per 10 KB): closer to what
   * agents send than the corpus itself.
   */
  typical: WorkloadFigures;
  /** Per request (turn) of `turns`-turn conversations; MB/s counts every message of every request. */
  conversation: WorkloadFigures & { conversations: number; turns: number };
  /** All recognizers on, pseudonymize operator, one vault per prompt. */
  sluice: EngineFigures;
  /** `new SyncRedactor()` defaults (all built-ins, names included); accuracy per type with one built-in at a time. */
  redactPii: EngineFigures;
  /** Types both engines support; `sluice.accuracy` restricted to these is comparable with `redactPii.accuracy`. */
  commonTypes: string[];
  /** sluice MB/s ÷ redact-pii MB/s. */
  speedup: number;
  goals: { mbPerSec50: boolean; speedup10x: boolean; p99Under1ms: boolean; recallAtLeastRedactPii: boolean };
}

interface Sample {
  id: string;
  text: string;
  entities: LabeledSpan[];
}

/** redact-pii built-in -> our entity type. */
const REDACT_PII_TYPES: Record<string, string> = {
  emailAddress: 'email',
  phoneNumber: 'phone',
  creditCardNumber: 'credit_card',
  usSocialSecurityNumber: 'us_ssn',
  ipAddress: 'ip_address',
};
const REDACT_PII_BUILTINS = ['creditCardNumber', 'streetAddress', 'zipcode', 'phoneNumber', 'ipAddress', 'usSocialSecurityNumber', 'emailAddress', 'username', 'password', 'credentials', 'digits', 'url', 'names'];

export function findCorpus(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'test', 'redact', 'corpus', 'corpus.jsonl');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('test/redact/corpus/corpus.jsonl not found above bench/');
}

export function loadCorpus(file: string): Sample[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Sample);
}

/** Entity-free filler for the typical workload: the prose and code agents actually send. */
const FILLER = [
  'The service reads its configuration at startup, validates it against the schema and refuses to start when a field is unknown. Reloads are atomic: a new configuration replaces the old one only after it compiled.\n',
  'export async function retry<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {\n  let last: unknown;\n  for (let i = 0; i < attempts; i++) {\n    try { return await fn(); } catch (err) { last = err; await sleep(2 ** i * 100); }\n  }\n  throw last;\n}\n',
  'def parse_rows(path):\n    with open(path, newline="") as f:\n        for row in csv.DictReader(f):\n            yield {k.strip(): v.strip() for k, v in row.items()}\n',
  'Please refactor the handler so that errors carry a stable code, add a unit test for the timeout path, and keep the public API unchanged. The CI runs on Node 20 and 22; version 2.4.1 of the client is pinned.\n',
  '| step | duration | status |\n|------|----------|--------|\n| build | 41s | ok |\n| test | 2m13s | ok |\n| deploy | 18s | skipped |\n',
  'SELECT o.id, o.total, c.region FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > now() - interval \'7 days\' ORDER BY o.total DESC LIMIT 50;\n',
];

/** Deterministic prompts of `size` characters; `sampleEvery` > 0 mixes filler with one corpus sample per that many characters. */
export function buildPrompts(samples: Sample[], count: number, size: number, sampleEvery = 0, seedOffset = 0): string[] {
  let seed = 0x5eed + seedOffset;
  // Math.imul: a plain `*` loses the low bits beyond 2^53 and the sequence falls into a short cycle.
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const prompts: string[] = [];
  for (let p = 0; p < count; p++) {
    let text = '';
    let sinceSample = 0;
    while (text.length < size) {
      const piece = sampleEvery === 0 || sinceSample >= sampleEvery ? pick(samples).text + '\n\n' : pick(FILLER);
      sinceSample = piece.endsWith('\n\n') && sampleEvery > 0 && sinceSample >= sampleEvery ? 0 : sinceSample + piece.length;
      text += piece;
    }
    // A flat string, as the proxy gets every message out of JSON.parse: a slice of the concatenation would be a
    // view into it, which V8 reads more slowly (charCodeAt about 2x) and which no request ever carries.
    prompts.push(JSON.parse(JSON.stringify(text.slice(0, size))) as string);
  }
  return prompts;
}

/**
 * A full garbage collection (gc exposed at run time): each measurement starts from a collected heap, so that
 * neither engine pays for what was allocated before it (the prompts themselves, built just before, would
 * otherwise be copied out of the young generation during the first measured jobs). The warm-up runs after it:
 * a full collection walks the whole heap and leaves the CPU caches cold, and the first three prompts measured
 * right after one took 2-4 times the median.
 */
let gc: (() => void) | undefined;
function collectGarbage(): void {
  if (gc === undefined) {
    // Exposed on first use, not when the module is imported (the harness and the tests import it too).
    v8.setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Times each job in order: MB/s over all of them (wall clock and CPU time), p50 and p99 per job. */
function measureJobs(jobs: readonly { run: () => void; bytes: number }[]): ThroughputFigures {
  const lat: number[] = [];
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const job of jobs) {
    const s = process.hrtime.bigint();
    job.run();
    lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    bytes += job.bytes;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * f))]!;
  return { mbPerSec: bytes / seconds / 1e6, cpuMbPerSec: bytes / ((cpu.user + cpu.system) / 1e6) / 1e6, p50Ms: q(0.5), p99Ms: q(0.99), prompts: lat.length, promptBytes: Math.round(bytes / lat.length) };
}

/**
 * Warm-up runs on prompts of its own (numbered after the measured ones): a measured prompt is seen for the first
 * time, as it would be in a proxy, where the detection cache (redact/detection-cache.ts) only helps texts that
 * come again.
 */
function measure(prompts: string[], run: (text: string, i: number) => void, warmup: readonly string[]): ThroughputFigures {
  collectGarbage();
  warmup.forEach((p, i) => run(p, prompts.length + i));
  return measureJobs(prompts.map((p, i) => ({ run: () => run(p, i), bytes: Buffer.byteLength(p) })));
}

const split = <T>(xs: T[], at: number): [T[], T[]] => [xs.slice(0, at), xs.slice(at)];

interface Conversation {
  id: number;
  /** The message added on each turn; request i carries messages 0..i. */
  messages: string[];
}

function buildConversations(prompts: string[], turns: number): Conversation[] {
  const out: Conversation[] = [];
  for (let i = 0; i + turns <= prompts.length; i += turns) out.push({ id: out.length, messages: prompts.slice(i, i + turns) });
  return out;
}

/** Every turn of every conversation, in order (a turn's latency includes its whole history). */
function measureTurns(conversations: Conversation[], turn: (c: Conversation, i: number) => void): ThroughputFigures {
  collectGarbage();
  return measureJobs(
    conversations.flatMap((c) =>
      c.messages.map((_, i) => ({ run: () => turn(c, i), bytes: c.messages.slice(0, i + 1).reduce((n, m) => n + Buffer.byteLength(m), 0) })),
    ),
  );
}

/** redact-pii returns text only: wrap each match in markers (`$&` keeps it) and read the spans back. */
function redactPiiSpans(redact: (t: string) => string, text: string, type: string): LabeledSpan[] {
  const out = redact(text);
  const spans: LabeledSpan[] = [];
  let plain = 0;
  let open = -1;
  for (const ch of out) {
    if (ch === '\u0001') open = plain;
    else if (ch === '\u0002') spans.push({ type, start: open, end: plain });
    else plain += ch.length;
  }
  return spans;
}

export async function runRedactionBench(opts: { quick: boolean }): Promise<RedactionBenchResult> {
  const file = findCorpus();
  const samples = loadCorpus(file);
  const commonTypes = Object.values(REDACT_PII_TYPES);

  const redactor = createRedactor({});
  const sluiceAcc = new AccuracyTally();
  for (const s of samples) sluiceAcc.add(s.entities, redactor.detect(s.text).filter((x) => x.type !== 'placeholder'));

  const theirsAcc = new AccuracyTally(new Set(commonTypes));
  for (const [builtin, type] of Object.entries(REDACT_PII_TYPES)) {
    const builtInRedactors = Object.fromEntries(REDACT_PII_BUILTINS.map((b) => [b, { enabled: b === builtin }]));
    const one = new redactPii.SyncRedactor({ builtInRedactors, globalReplaceWith: '\u0001$&\u0002' });
    for (const s of samples) theirsAcc.add(s.entities.filter((e) => e.type === type), redactPiiSpans(one.redact, s.text, type));
  }

  const theirs = new redactPii.SyncRedactor();
  const ours = (t: string, i: number) => redactor.redactText(t, redactor.vault(`bench-${i}`));
  const count = opts.quick ? 60 : 1000;
  const theirCount = opts.quick ? 15 : 100;
  const warm = opts.quick ? 20 : 100;
  const [warmup, prompts] = split(buildPrompts(samples, warm + count, 10 * 1024), warm);
  const sluice = measure(prompts, ours, warmup);
  const redactPiiFigures = measure(prompts.slice(0, theirCount), (t) => theirs.redact(t), warmup.slice(0, 3));
  const [typicalWarmup, typicalPrompts] = split(buildPrompts(samples, warm + count, 10 * 1024, 1500), warm);
  const typicalOurs = measure(typicalPrompts, ours, typicalWarmup);
  const typicalTheirs = measure(typicalPrompts.slice(0, theirCount), (t) => theirs.redact(t), typicalWarmup.slice(0, 3));
  const turns = opts.quick ? 6 : 20;
  const conversations = buildConversations(buildPrompts(samples, (opts.quick ? 3 : 10) * turns, 10 * 1024, 0, 7), turns);
  const ourTurn = (c: Conversation, i: number) => {
    const body = { model: 'gpt-4o', messages: c.messages.slice(0, i + 1).map((content) => ({ role: 'user', content })) };
    redactor.redactLlmRequest('openai-chat', body, redactor.vault(`conversation-${c.id}`));
  };
  const conversationOurs = measureTurns(conversations, ourTurn);
  const conversationTheirs = measureTurns(conversations.slice(0, 1), (c, i) => c.messages.slice(0, i + 1).forEach((m) => theirs.redact(m)));
  redactor.close();

  const sluiceAccuracy = sluiceAcc.scores();
  const theirAccuracy = theirsAcc.scores();
  const speedup = sluice.mbPerSec / redactPiiFigures.mbPerSec;
  return {
    corpus: { file, samples: samples.length, entities: samples.reduce((n, s) => n + s.entities.length, 0) },
    typical: { sluice: typicalOurs, redactPii: typicalTheirs, speedup: typicalOurs.mbPerSec / typicalTheirs.mbPerSec },
    conversation: {
      sluice: conversationOurs,
      redactPii: conversationTheirs,
      speedup: conversationOurs.mbPerSec / conversationTheirs.mbPerSec,
      conversations: conversations.length,
      turns,
    },
    sluice: { ...sluice, accuracy: sluiceAccuracy },
    redactPii: { ...redactPiiFigures, accuracy: theirAccuracy },
    commonTypes,
    speedup,
    goals: {
      mbPerSec50: sluice.mbPerSec >= 50,
      speedup10x: speedup >= 10,
      p99Under1ms: sluice.p99Ms < 1,
      recallAtLeastRedactPii: commonTypes.every((t) => (sluiceAccuracy[t]?.recall ?? 0) >= (theirAccuracy[t]?.recall ?? 0)),
    },
  };
}

export function formatRedactionBench(r: RedactionBenchResult): string {
  const f = (n: number, d = 2) => n.toFixed(d);
  const lines = [
    `redaction: corpus ${r.corpus.samples} samples, ${r.corpus.entities} labeled entities; prompts ${r.sluice.promptBytes} B`,
    `  corpus prompts (entity-dense, ~100 entities per 10 KB):`,
    `  engine       MB/s  (CPU MB/s)   p50 ms   p99 ms   (prompts)`,
    `  sluice     ${f(r.sluice.mbPerSec, 1).padStart(8)}  (${f(r.sluice.cpuMbPerSec, 1).padStart(7)})   ${f(r.sluice.p50Ms, 3).padStart(7)}  ${f(r.sluice.p99Ms, 3).padStart(7)}   (${r.sluice.prompts})`,
    `  redact-pii ${f(r.redactPii.mbPerSec, 3).padStart(8)}  (${f(r.redactPii.cpuMbPerSec, 3).padStart(7)})   ${f(r.redactPii.p50Ms, 1).padStart(7)}  ${f(r.redactPii.p99Ms, 1).padStart(7)}   (${r.redactPii.prompts})`,
    `  typical prompts (prose/code, ~7 entities per 10 KB):`,
    `  sluice     ${f(r.typical.sluice.mbPerSec, 1).padStart(8)}  (${f(r.typical.sluice.cpuMbPerSec, 1).padStart(7)})   ${f(r.typical.sluice.p50Ms, 3).padStart(7)}  ${f(r.typical.sluice.p99Ms, 3).padStart(7)}   (${r.typical.sluice.prompts})`,
    `  redact-pii ${f(r.typical.redactPii.mbPerSec, 3).padStart(8)}  (${f(r.typical.redactPii.cpuMbPerSec, 3).padStart(7)})   ${f(r.typical.redactPii.p50Ms, 1).padStart(7)}  ${f(r.typical.redactPii.p99Ms, 1).padStart(7)}   (${r.typical.redactPii.prompts})`,
    `  speedup ${f(r.typical.speedup, 1)}x`,
    `  conversations (${r.conversation.conversations} × ${r.conversation.turns} turns, whole history each turn; per request):`,
    `  sluice     ${f(r.conversation.sluice.mbPerSec, 1).padStart(8)}  (${f(r.conversation.sluice.cpuMbPerSec, 1).padStart(7)})   ${f(r.conversation.sluice.p50Ms, 3).padStart(7)}  ${f(r.conversation.sluice.p99Ms, 3).padStart(7)}   (${r.conversation.sluice.prompts})`,
    `  redact-pii ${f(r.conversation.redactPii.mbPerSec, 3).padStart(8)}  (${f(r.conversation.redactPii.cpuMbPerSec, 3).padStart(7)})   ${f(r.conversation.redactPii.p50Ms, 1).padStart(7)}  ${f(r.conversation.redactPii.p99Ms, 1).padStart(7)}   (${r.conversation.redactPii.prompts})`,
    `  speedup ${f(r.conversation.speedup, 1)}x`,
    `  speedup on corpus prompts ${f(r.speedup, 1)}x; goals (corpus prompts): ${Object.entries(r.goals).map(([k, v]) => `${k}=${v ? 'met' : 'MISSED'}`).join(' ')}`,
    `  type              sluice P / R        redact-pii P / R`,
  ];
  for (const [type, s] of Object.entries(r.sluice.accuracy)) {
    const t = r.redactPii.accuracy[type];
    lines.push(`  ${type.padEnd(16)}  ${f(s.precision, 3)} / ${f(s.recall, 3)}     ${t ? `${f(t.precision, 3)} / ${f(t.recall, 3)}` : '-'}`);
  }
  return lines.join('\n');
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (invokedDirectly) {
  // No top-level await: importing this module must stay synchronous.
  runRedactionBench({ quick: process.argv.includes('--quick') }).then(
    (result) => console.log(process.argv.includes('--json') ? JSON.stringify(result) : formatRedactionBench(result)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
