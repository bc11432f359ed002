import t from 'tap';
import { createRedactor } from '../../redact/index.js';

const r = createRedactor({});
t.teardown(() => r.close());

function seededVault() {
  const v = r.vault(`v-${Math.random()}`);
  // Issue <EMAIL_1>…<EMAIL_12>, <CREDIT_CARD_1>, <PHONE_1>.
  r.redactText(Array.from({ length: 12 }, (_, i) => `user${i + 1}@example.com`).join(' '), v);
  r.redactText('4111 1111 1111 1111 and +1 415 555 0132', v);
  return v;
}

t.test('a placeholder split at every position across two and three pushes is restored', async (t) => {
  const v = seededVault();
  const answer = 'Sure: <EMAIL_12> paid with <CREDIT_CARD_1> (call <PHONE_1>), cc <EMAIL_1>. <EMAIL_99> stays.';
  const expected = 'Sure: user12@example.com paid with 4111 1111 1111 1111 (call +1 415 555 0132), cc user1@example.com. <EMAIL_99> stays.';
  for (let i = 0; i <= answer.length; i++) {
    const s = r.createRestorer(v);
    t.equal(s.push(answer.slice(0, i)) + s.push(answer.slice(i)) + s.flush(), expected, `cut at ${i}`);
  }
  for (let i = 0; i <= answer.length; i += 3) {
    for (let j = i; j <= answer.length; j += 5) {
      const s = r.createRestorer(v);
      t.equal(s.push(answer.slice(0, i)) + s.push(answer.slice(i, j)) + s.push(answer.slice(j)) + s.flush(), expected);
    }
  }
  const s = r.createRestorer(v);
  t.equal([...answer].map((ch) => s.push(ch)).join('') + s.flush(), expected, 'one character per push');
});

t.test('only a tail that could still become an issued placeholder is held back', async (t) => {
  const v = seededVault();
  const s = r.createRestorer(v);
  t.equal(s.push('hello <'), 'hello ', '"<" could start a placeholder');
  t.equal(s.push('EM'), '', '"<EM" could be <EMAIL_…>');
  t.equal(s.push('AIL_1'), '', '"<EMAIL_1" could be <EMAIL_1> or <EMAIL_12>');
  t.equal(s.push('3'), '<EMAIL_13', '13 was never issued: released at once');
  t.equal(s.push(' <X'), ' <X', 'no issued label starts with X');
  t.equal(s.push(' a < b'), ' a < b', 'a space ends any chance');
  t.equal(s.push(' <CREDIT_CARD_1'), ' ', 'held');
  t.equal(s.push('0'), '<CREDIT_CARD_10', 'only one card issued');
  t.equal(s.push(' <email_1>'), ' <email_1>', 'labels are upper-case');
  t.equal(s.flush(), '');
});

t.test('never delays text that cannot be a placeholder (exhaustive over random streams)', async (t) => {
  const v = seededVault();
  const alphabet = ['<', '>', 'E', 'M', 'A', 'I', 'L', '_', '1', '2', '9', ' ', 'x', 'é', '<EMAIL_1>', '<PHONE_1>'];
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let run = 0; run < 300; run++) {
    const pieces = Array.from({ length: 1 + rand(12) }, () => Array.from({ length: rand(4) }, () => alphabet[rand(alphabet.length)]).join(''));
    const s = r.createRestorer(v);
    let out = '';
    let input = '';
    for (const p of pieces) {
      input += p;
      out += s.push(p);
      const held = input.slice(rawPrefixLength(input, out, v));
      // What is held back must be a proper prefix of an issued placeholder, and start with "<".
      if (held.length > 0) t.ok(held.startsWith('<') && v.couldBecomePlaceholder(held) && !held.includes('>'), `held ${JSON.stringify(held)}`);
    }
    t.equal(out + s.flush(), r.restoreText(input, v), `run ${run}`);
  }
  function rawPrefixLength(input: string, out: string, vault: typeof v): number {
    // The emitted text is the restore of some prefix of the input: find it.
    for (let n = input.length; n >= 0; n--) if (r.restoreText(input.slice(0, n), vault) === out) return n;
    return -1;
  }
});

t.test('JSON mode escapes originals for the inside of a JSON string', async (t) => {
  const custom = createRedactor({ recognizers: [{ name: 'quote', pattern: 'Q"[a-z]+\\\\x' }] });
  t.teardown(() => custom.close());
  const v = custom.vault('j');
  t.equal(custom.redactText('say Q"abc\\x', v).text, 'say <QUOTE_1>');
  const args = JSON.stringify({ text: 'see <QUOTE_1>' });
  const s = custom.createRestorer(v, { json: true });
  const restored = s.push(args.slice(0, 14)) + s.push(args.slice(14)) + s.flush();
  t.same(JSON.parse(restored), { text: 'see Q"abc\\x' });
  t.equal(custom.restoreText('<QUOTE_1>', v), 'Q"abc\\x', 'plain mode inserts the original as is');
});

t.test('restoreJson restores every string, keys included, deep, in place', async (t) => {
  const v = seededVault();
  let deep: unknown = '<EMAIL_2>';
  for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { k: deep };
  const value = { choices: [{ message: { content: 'to <EMAIL_1>', tool_calls: [{ function: { arguments: { to: '<EMAIL_3>', n: 1, ok: true, nil: null } } }] } }], '<EMAIL_4>': 'key', deep };
  const out = r.restoreJson(value, v) as typeof value;
  t.equal(out, value, 'same object');
  t.equal(out.choices[0]!.message.content, 'to user1@example.com');
  t.same(out.choices[0]!.message.tool_calls[0]!.function.arguments, { to: 'user3@example.com', n: 1, ok: true, nil: null });
  t.equal((out as Record<string, unknown>)['user4@example.com'], 'key');
  let node: unknown = out.deep;
  while (typeof node !== 'string') node = Array.isArray(node) ? node[0] : (node as { k: unknown }).k;
  t.equal(node, 'user2@example.com', '100k levels deep');
  t.equal(r.restoreJson('<EMAIL_1>', v), 'user1@example.com');
  t.equal(r.restoreJson(7, v), 7);
});
