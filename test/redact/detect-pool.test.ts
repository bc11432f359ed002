import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { createRedactor } from '../../redact/index.js';
import type { Redactor } from '../../redact/index.js';
import { OFFLOAD_CHARS, OFFLOAD_MAX_CHARS } from '../../redact/redactor.js';
import type { DetectPool } from '../../redact/detect-pool.js';

const CONFIG = { redact: 'all', mode: 'pseudonymize' } as const;

/** One turn's text: PII and secrets every ~100 characters, different per `n`. */
function turn(n: number, chars: number): string {
  let out = `Turn ${n}. `;
  for (let i = 0; out.length < chars; i++) {
    out += `Write to user${n}x${i}@example.com or call +1 (555) 123-${String(1000 + ((n * 31 + i) % 9000)).padStart(4, '0')}; `;
    out += `card 4111 1111 1111 1111, host 10.${n % 256}.${i % 256}.7, key AKIAZ7QWERTYUIOP${String(i % 10000).padStart(4, '0')}. `;
  }
  return out;
}

function chat(history: string[]) {
  return { model: 'm', messages: [{ role: 'system', content: 'be brief' }, ...history.map((content, i) => ({ role: i % 2 ? 'assistant' : 'user', content }))] };
}

function pair(t: Test): { pooled: Redactor; inline: Redactor } {
  const hmacKey = randomBytes(32);
  const pooled = createRedactor(CONFIG, { hmacKey, detectThreads: 1 });
  const inline = createRedactor(CONFIG, { hmacKey, detectThreads: 0 });
  t.teardown(() => {
    pooled.close();
    inline.close();
  });
  return { pooled, inline };
}

t.test("a worker's detections redact a conversation exactly as the event loop's do, turn after turn", async (t) => {
  const { pooled, inline } = pair(t);
  t.ok(pooled.detectPool, 'a pool');
  t.equal(inline.detectPool, undefined, 'no pool');
  const history: string[] = [];
  for (let n = 0; n < 4; n++) {
    history.push(turn(n, OFFLOAD_CHARS + 1000));
    const a = chat(history);
    const b = chat(history);
    const c = chat(history);
    const viaPool = await pooled.redactLlmRequestAsync('openai-chat', a, pooled.vault('conv'));
    const onLoop = await inline.redactLlmRequestAsync('openai-chat', b, inline.vault('conv'));
    const sync = inline.redactLlmRequest('openai-chat', c, inline.vault('sync'));
    t.same(viaPool, onLoop, `turn ${n}: same counts`);
    t.same(viaPool, sync, `turn ${n}: same counts as the synchronous path`);
    t.equal(JSON.stringify(a), JSON.stringify(b), `turn ${n}: same text, same pseudonyms`);
    t.notOk(JSON.stringify(a).includes('@example.com'), `turn ${n}: no address left`);
    t.ok(viaPool.counts.email! > 100, `turn ${n}: ${viaPool.counts.email} addresses`);
  }
  // Each turn's new message went to the worker; the history was remembered by the main thread's cache.
  t.equal(pooled.detectPool!.jobs, 4, 'one worker job per turn');
  t.equal(pooled.detectionCache.hits, 0 + 1 + 2 + 3, 'earlier turns were not scanned again');
});

t.test('a value keeps its pseudonym whichever thread found it', async (t) => {
  const { pooled } = pair(t);
  const vault = pooled.vault('same');
  const small = { model: 'm', messages: [{ role: 'user', content: 'mail user0x0@example.com please' }] };
  await pooled.redactLlmRequestAsync('openai-chat', small, vault);
  const large = chat([turn(0, OFFLOAD_CHARS + 1000)]);
  await pooled.redactLlmRequestAsync('openai-chat', large, vault);
  t.equal(pooled.detectPool!.jobs, 1, 'the large one went to the worker');
  const placeholder = /\S+(?= please)/.exec(small.messages[0]!.content)![0];
  t.not(placeholder, 'user0x0@example.com');
  t.ok(large.messages[1]!.content.startsWith(`Turn 0. Write to ${placeholder} or call`), 'the same placeholder in both');
});

t.test('a small request is answered while a large one is detected on a worker, and waits for it without one', async (t) => {
  const { pooled, inline } = pair(t);
  // One message under the slice size: the event loop's path scans it in one go, without giving the loop back.
  const big = () => chat([turn(1, 900_000)]);
  const small = () => ({ model: 'm', messages: [{ role: 'user', content: 'call +1 (555) 123-4567' }] });
  for (const [name, redactor, smallFirst] of [['pool', pooled, true], ['event loop', inline, false]] as const) {
    const order: string[] = [];
    const large = redactor.redactLlmRequestAsync('openai-chat', big(), redactor.vault(`${name}-large`)).then(() => order.push('large'));
    // The small one comes a turn of the loop later: once the large one's text has been hashed and is being scanned.
    const quick = new Promise((resolve) => setImmediate(resolve))
      .then(() => redactor.redactLlmRequestAsync('openai-chat', small(), redactor.vault(`${name}-small`)))
      .then(() => order.push('small'));
    await Promise.all([large, quick]);
    t.same(order, smallFirst ? ['small', 'large'] : ['large', 'small'], `${name}: ${order.join(' before ')}`);
  }
});

t.test('without its pool (closed, or a worker that failed) a large request is still redacted, on the event loop', async (t) => {
  const { pooled, inline } = pair(t);
  await (pooled.detectPool as DetectPool).close();
  const a = chat([turn(2, OFFLOAD_CHARS * 2)]);
  const b = chat([turn(2, OFFLOAD_CHARS * 2)]);
  const viaFallback = await pooled.redactLlmRequestAsync('openai-chat', a, pooled.vault('c'));
  await inline.redactLlmRequestAsync('openai-chat', b, inline.vault('c'));
  t.equal(pooled.detectPool!.jobs, 0, 'no worker answered');
  t.ok(viaFallback.counts.email! > 0);
  t.equal(JSON.stringify(a), JSON.stringify(b), 'redacted as the event loop does');
});

t.test('a request with more new text than a worker may copy stays on the event loop, redacted alike', async (t) => {
  const { pooled, inline } = pair(t);
  const a = chat([turn(3, OFFLOAD_MAX_CHARS + 1000)]);
  const b = chat([turn(3, OFFLOAD_MAX_CHARS + 1000)]);
  await pooled.redactLlmRequestAsync('openai-chat', a, pooled.vault('c'));
  await inline.redactLlmRequestAsync('openai-chat', b, inline.vault('c'));
  t.equal(pooled.detectPool!.jobs, 0, 'no worker job');
  t.equal(JSON.stringify(a), JSON.stringify(b));
});
