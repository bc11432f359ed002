import t from 'tap';
import { createEventBus } from '../../core/index.js';
import { createDlpStage, createRedactor } from '../../redact/index.js';
import { makeCtx, runFilters } from '../credentials/context.js';

/**
 * The streamed body scan (redact/dlp-stage.ts) gathers 64 KB before a pass and releases a chunk
 * only once HOLD scanned bytes follow it. These tests stream large bodies the way TLS delivers
 * them (16 KB records, and odd sizes) with a secret placed around the batch boundaries, and check
 * that no byte of it was released before the refusal: releasing by bytes pushed rather than
 * bytes scanned fails them.
 */
const GH = 'ghp_' + 'Zq8XbW2mK9vLr4TnY7pQs1cD6fH3jA5eU0gI';
const PROSE = 'The deploy notes say the staging cluster restarts at noon; ping the on-call channel first. ';

function textOf(bytes: number): string {
  return PROSE.repeat(Math.ceil(bytes / PROSE.length)).slice(0, bytes);
}

/** `bytes` of prose ending in a line break, so that what follows starts a token. */
const before = (bytes: number): string => (bytes === 0 ? '' : `${textOf(bytes - 1)}\n`);

function cut(body: Buffer, sizes: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const n = Math.max(1, sizes());
    out.push(body.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** A deterministic generator, so a failure names a chunking that can be replayed. */
function sizesFrom(seed: number, max: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return 1 + (x % max);
  };
}

const redactor = createRedactor({});
const stage = createDlpStage({ redactor: () => redactor, isPlaceholder: () => false });

async function stream(chunks: Buffer[]) {
  const ctx = makeCtx(createEventBus(), { host: 'uploads.example.com', path: '/u' });
  await stage.onRequestHeaders!(ctx);
  t.equal(ctx.requestFilters.length, 1, 'the body is scanned as it streams');
  return runFilters(ctx.requestFilters, chunks);
}

const BATCH = 64 * 1024;
const positions = [0, 5_000, BATCH - 40, BATCH - 10, BATCH - 1, BATCH, BATCH + 1, BATCH + 4_000, 2 * BATCH - 20, 3 * BATCH + 16_380, 300_000];
const chunkings: [string, (n: number) => () => number][] = [
  ['16 KB records', () => () => 16_384],
  ['4 KB writes', () => () => 4_096],
  ['random up to 20 KB', (p) => sizesFrom(p + 1, 20_000)],
  ['random up to 300 B', (p) => sizesFrom(p + 7, 300)],
];

t.test('a secret anywhere in a large streamed body is refused before any byte of it is released', async (t) => {
  for (const p of positions) {
    for (const [name, sizes] of chunkings) {
      if (name.includes('300 B') && p > BATCH + 4_000) continue; // byte-sized chunkings of 400 KB are slow and add nothing
      const body = Buffer.from(`${before(p)}${GH} ${textOf(400_000 - p)}`);
      const { out, error } = await stream(cut(body, sizes(p)));
      t.equal(error?.code, 'SLUICE_DLP_BLOCKED', `${name}, secret at ${p}: refused`);
      t.ok(out.length <= p, `${name}, secret at ${p}: released ${out.length} bytes, none of the secret`);
      t.notOk(out.includes('ghp_'), `${name}, secret at ${p}: the prefix never left`);
    }
  }
});

t.test('a JSON-escaped secret late in a large body is refused before any of it is released', async (t) => {
  const escaped = GH.replace('g', '\\u0067');
  for (const p of [BATCH - 8, 2 * BATCH + 3, 250_000]) {
    const body = Buffer.from(`{"notes":"${textOf(p - 1)} ${escaped} ${textOf(100_000)}"}`);
    const { out, error } = await stream(cut(body, () => 16_384));
    t.equal(error?.code, 'SLUICE_DLP_BLOCKED', `escaped secret at ${p}: refused`);
    t.ok(out.length <= p + 10, `escaped secret at ${p}: released ${out.length} bytes, none of the secret`);
  }
});

t.test('a clean large body passes whole and in order, and streams (bytes leave before the end)', async (t) => {
  const body = Buffer.from(textOf(500_000));
  for (const [name, sizes] of chunkings) {
    const chunks = cut(body, sizes(3));
    const ctx = makeCtx(createEventBus(), { host: 'uploads.example.com', path: '/u' });
    await stage.onRequestHeaders!(ctx);
    const [filter] = ctx.requestFilters;
    const outs: Buffer[] = [];
    for (const chunk of chunks) outs.push(await filter!.transform(chunk));
    const beforeEnd = outs.reduce((n, b) => n + b.length, 0);
    outs.push(await filter!.flush!());
    t.ok(Buffer.concat(outs).equals(body), `${name}: every byte, once, in order`);
    t.ok(beforeEnd >= body.length - BATCH - 2 * 4096 - 20_000, `${name}: ${beforeEnd} of ${body.length} bytes left before the end`);
  }
});

t.test('a path or host judged clean is judged again by a reloaded redactor with other recognizers', async (t) => {
  let current = createRedactor({});
  const dlp = createDlpStage({ redactor: () => current, isPlaceholder: () => false });
  const ask = async (host: string, path: string) => {
    const ctx = makeCtx(createEventBus(), { host, path });
    try {
      await dlp.onRequestHeaders!(ctx);
      return 'passed';
    } catch (err) {
      return (err as { code?: string }).code ?? 'threw';
    }
  };
  for (let i = 0; i < 3; i++) {
    t.equal(await ask('emp-123456.example.com', '/staff/EMP-123456/badge'), 'passed', `clean to the built-in recognizers (ask ${i + 1})`);
  }
  current = createRedactor({ recognizers: [{ name: 'employee_id', pattern: 'EMP-[0-9]{6}', score: 0.9 }], egress: { types: ['employee_id'] } });
  t.equal(await ask('api.example.com', '/staff/EMP-123456/badge'), 'SLUICE_DLP_BLOCKED', 'the remembered clean path is scanned again');
  t.equal(await ask('emp-123456.example.com', '/'), 'SLUICE_DLP_BLOCKED', 'the remembered clean host too');
  const long = `/docs/${'a'.repeat(400)}/EMP-123456`;
  t.equal(await ask('api.example.com', long), 'SLUICE_DLP_BLOCKED', 'a long path (never remembered) is scanned each time');
  t.equal(await ask('api.example.com', long), 'SLUICE_DLP_BLOCKED');
});
