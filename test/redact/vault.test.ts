import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { createRedactor } from '../../redact/index.js';
import { createVault, valueHash } from '../../redact/vault.js';

t.test('vault store: get-or-create, LRU bound on conversations', async (t) => {
  let now = 0;
  const r = createRedactor({ vault: { max_conversations: 2 } }, { now: () => now });
  t.teardown(() => r.close());
  const a = r.vault('a');
  r.redactText('x@example.com', a);
  t.equal(r.vault('a'), a, 'same key, same vault');
  r.vault('b');
  r.vault('a'); // touch a: b is now least recently used
  r.vault('c');
  t.equal(r.vault('a'), a, 'recently used survives');
  const b2 = r.vault('b');
  t.equal(b2.size, 0, 'evicted conversation starts empty');
  now += 1;
});

t.test('vault store: idle vaults expire after the TTL, used ones are refreshed', async (t) => {
  let now = 1_000_000;
  const r = createRedactor({ vault: { ttl_seconds: 60 } }, { now: () => now });
  t.teardown(() => r.close());
  const a = r.vault('a');
  r.redactText('x@example.com', a);
  now += 59_000;
  t.equal(r.vault('a'), a, 'still alive at 59 s, and refreshed');
  now += 59_000;
  t.equal(r.vault('a'), a, 'refreshed by the previous get');
  now += 61_000;
  const again = r.vault('a');
  t.not(again, a, 'expired after 61 s idle');
  t.equal(again.size, 0);
});

t.test('vault entries are bounded; numbers are never reused', async (t) => {
  const r = createRedactor({ vault: { max_entries: 3 } });
  t.teardown(() => r.close());
  const v = r.vault('k');
  const text = Array.from({ length: 5 }, (_, i) => `u${i}@example.com`).join(' ');
  t.equal(r.redactText(text, v).text, '<EMAIL_1> <EMAIL_2> <EMAIL_3> <EMAIL_4> <EMAIL_5>');
  t.equal(v.size, 3);
  t.equal(r.restoreText('<EMAIL_1> <EMAIL_2> <EMAIL_5>', v), '<EMAIL_1> <EMAIL_2> u4@example.com', 'oldest evicted');
  t.equal(r.redactText('u0@example.com', v).text, '<EMAIL_6>', 'a returning value gets a fresh number, not a reused one');
});

t.test('conversation keys: stable across turns, differ between conversations, keyed', async (t) => {
  const r = createRedactor({}, { hmacKey: Buffer.alloc(32, 1) });
  const other = createRedactor({}, { hmacKey: Buffer.alloc(32, 2) });
  t.teardown(() => (r.close(), other.close()));
  const turn1 = { model: 'gpt-4o', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi, I am a@example.com' }] };
  const turn2 = {
    model: 'gpt-4o-mini',
    messages: [...turn1.messages, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'and again' }],
  };
  const k1 = r.conversationKey('openai-chat', turn1);
  t.match(k1, /^[0-9a-f]{32}$/);
  t.equal(r.conversationKey('openai-chat', turn2), k1, 'later turns map to the same conversation');
  t.not(r.conversationKey('openai-chat', { messages: [{ role: 'user', content: 'something else' }] }), k1);
  t.not(other.conversationKey('openai-chat', turn1), k1, 'another HMAC key, another conversation key');
  t.notMatch(k1, /example/);

  const a1 = { system: [{ type: 'text', text: 'sys' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'q1' }] }] };
  const a2 = { ...a1, messages: [...a1.messages, { role: 'assistant', content: 'a' }, { role: 'user', content: 'q2' }] };
  t.equal(r.conversationKey('anthropic-messages', a2), r.conversationKey('anthropic-messages', a1));
  t.not(r.conversationKey('anthropic-messages', a1), r.conversationKey('openai-chat', a1), 'the API is part of the key');
  t.equal(r.conversationKey('ollama-generate', { prompt: 'p', system: 's' }), r.conversationKey('ollama-generate', { prompt: 'p', system: 's', context: [1, 2] }));
  t.doesNotThrow(() => r.conversationKey('openai-chat', null));
  t.doesNotThrow(() => r.conversationKey('anthropic-messages', { messages: 'nonsense' }));
});

t.test('a vault keeps copies of its values, not the request texts they were cut from', async (t) => {
  // A slice of a string keeps the whole string alive in V8; vaults outlive requests by up to the TTL.
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const r = createRedactor({});
  t.teardown(() => r.close());
  const v = r.vault('big-bodies');
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 20; i++) {
    const body = `${`filler ${i} `.repeat(400_000)} mail someone${i}@example.com please`; // ~4 MB each
    t.equal(r.redactText(body, v).counts.email, 1);
  }
  gc();
  const retained = process.memoryUsage().heapUsed - before;
  t.ok(retained < 20e6, `20 bodies of ~4 MB leave ${(retained / 1e6).toFixed(1)} MB behind`);
  t.equal(r.restoreText('<EMAIL_20>', v), 'someone19@example.com', 'the values are still there');
});

t.test('vault values: any UTF-16 comes back exactly, hash collisions resolve, eviction keeps the recently used', async (t) => {
  const v = createVault('k', 300_000);
  // 200,000 values: with 30-bit hashes a few dozen pairs collide, so chains are exercised.
  const values = Array.from({ length: 200_000 }, (_, i) => `v${i.toString(36)}@example.com`);
  const placeholders = values.map((x) => v.pseudonym('email', x));
  t.equal(new Set(placeholders).size, values.length, 'one placeholder per value');
  let wrong = 0;
  values.forEach((x, i) => {
    if (v.original(placeholders[i]!) !== x || v.pseudonym('email', x) !== placeholders[i]) wrong++;
  });
  t.equal(wrong, 0, 'every value restores and keeps its placeholder');

  const odd = ['é', 'Zoë Ångström', '日本語のテキスト', '😀 emoji 🚀', '\ud800 lone high', 'lone low \udfff', '\u0000\u00ff\u0100', ''.padEnd(5000, 'ß')];
  for (const x of odd) t.equal(v.original(v.pseudonym('secret', x)), x, JSON.stringify(x.slice(0, 12)));
  t.equal(v.pseudonym('email', values[0]!), placeholders[0], 'a type keeps its own numbering');
  t.equal(v.original('<EMAIL_01>'), undefined, 'numbers only as issued');
  t.equal(v.original('<EMAIL_1.0>'), undefined);
  t.equal(v.original('<NOPE_1>'), undefined);

  const small = createVault('s', 200);
  const first = Array.from({ length: 150 }, (_, i) => small.pseudonym('phone', `+1 555 000 ${1000 + i}`));
  let largest = 0;
  for (let i = 0; i < 2000; i++) {
    small.pseudonym('phone', '+1 555 000 1000'); // keeps the first value recently used
    small.pseudonym('ip_address', `10.0.${i >> 8}.${i & 255}`);
    largest = Math.max(largest, small.size);
  }
  t.equal(largest, 200, 'never more than the limit');
  t.equal(small.original(first[0]!), '+1 555 000 1000', 'a value in use survives evictions and compactions');
  t.equal(small.original(first[1]!), undefined, 'an unused old value was evicted');
  t.equal(small.original('<IP_ADDRESS_2000>'), '10.0.7.207', 'the newest values are there');
  t.equal(small.pseudonym('phone', '+1 555 000 1001'), '<PHONE_151>', 'an evicted value returns under a new number');
});

t.test('values crafted to share a hash bucket without the seed spread out with it', async (t) => {
  // 300 values whose unseeded hash has the same low 9 bits (one bucket of a 512-bucket table): with a known hash
  // a sandbox could send such a set and make every lookup walk one long chain.
  const crafted: string[] = [];
  for (let i = 0; crafted.length < 300; i++) {
    const value = `x${i.toString(36)}@example.com`;
    if ((valueHash(0, 0, value) & 511) === 0) crafted.push(value);
  }
  for (const seed of [0x1234567, 0x7654321, 0x2a2a2a2a]) {
    const buckets = new Map<number, number>();
    for (const value of crafted) {
      const b = valueHash(seed, 0, value) & 511;
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    }
    t.ok(Math.max(...buckets.values()) <= 6, `seed ${seed}: the longest chain holds ${Math.max(...buckets.values())} of 300`);
  }
  const v = createVault('k', 1000);
  t.same(crafted.map((x) => v.pseudonym('email', x)), crafted.map((_, i) => `<EMAIL_${i + 1}>`), 'each its own placeholder');
  t.equal(v.original('<EMAIL_300>'), crafted[299]);
});

t.test('a reserved vault grows past what it reserved; values read in place equal values passed whole', async (t) => {
  for (const [values, chars] of [[1, 1], [2, 4], [500, 100_000], [0, 0]] as const) {
    const v = createVault(`reserve-${values}`, 10_000);
    v.reserve(values, chars);
    v.reserve(10_000, 1_000_000); // ignored: only the first allocation is sized ahead
    const originals = Array.from({ length: 700 }, (_, i) => (i % 7 === 0 ? `wide ${i} 日本語 😀` : `user${i}@example.com`));
    const text = originals.join(' | ');
    let at = 0;
    const placeholders = originals.map((o) => {
      const start = text.indexOf(o, at);
      at = start + o.length;
      return v.pseudonymIn(o.includes('@') ? 'email' : 'person', text, start, start + o.length);
    });
    const differ = originals.filter((o, i) => v.pseudonym(o.includes('@') ? 'email' : 'person', o) !== placeholders[i]);
    t.same(differ, [], 'the same placeholder either way');
    if (placeholders.some((p, i) => v.original(p) !== originals[i])) t.fail('a value did not come back');
    t.equal(v.size, 700, `reserve(${values}, ${chars}): all kept`);
  }
});
