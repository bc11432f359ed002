import t from 'tap';
import { harness, makeCtx, runHeaders, runFilters, leakedSecrets, SECRETS, ALL_PROVIDERS } from './context.js';

/** Every way of cutting `data` in two, plus one-byte chunks. */
function splits(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 1; i < data.length; i++) out.push([data.subarray(0, i), data.subarray(i)]);
  out.push([...data].map((b) => Buffer.from([b])));
  return out;
}

t.test('a placeholder bound elsewhere is found in a body at every split position', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const placeholder = h.creds.envFor('sb').OPENAI_API_KEY!;
  const body = Buffer.from(JSON.stringify({ text: 'please paste this', key: placeholder }));
  let refused = 0;
  let clean = true;
  for (const chunks of splits(body)) {
    const ctx = makeCtx(h.bus, { sandbox: 'sb', host: 'paste.example', path: '/new' });
    t.equal(await runHeaders(h.creds, ctx), undefined);
    const { out, error } = await runFilters(ctx.requestFilters, chunks);
    if (error?.code === 'SLUICE_CREDENTIAL_MISMATCH') refused++;
    // Nothing of the placeholder may have gone out before the refusal.
    if (out.includes(placeholder.slice(0, 12))) clean = false;
  }
  t.equal(refused, body.length, 'refused at every split');
  t.ok(clean, 'no part of the placeholder was emitted before the refusal');
});

t.test('long bodies: a placeholder or an alias is found at every cut near it, and a long clean body passes whole', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const placeholder = h.creds.envFor('sb').OPENAI_API_KEY!;
  const prose = 'The deploy notes say the staging cluster restarts at noon; ping the on-call channel first.\n';
  // Longer than any hold, with the placeholder 40 KB in.
  const head = prose.repeat(450).slice(0, 40_000);
  for (const [form, text] of [['placeholder', placeholder], ['alias', 'openshell:resolve:env:GITHUB_TOKEN']] as const) {
    const body = Buffer.from(`${head}key=${text}&${prose.repeat(20)}`);
    const at = head.length + 4;
    let refused = 0;
    let clean = true;
    const cuts = [...Array.from({ length: text.length + 8 }, (_, i) => at - 4 + i), at - 300, at - 5_000];
    for (const cut of cuts) {
      for (const chunks of [[body.subarray(0, cut), body.subarray(cut)], [body.subarray(0, cut - 16_384), body.subarray(cut - 16_384, cut), body.subarray(cut)]]) {
        const ctx = makeCtx(h.bus, { sandbox: 'sb', host: 'paste.example', path: '/new' });
        t.equal(await runHeaders(h.creds, ctx), undefined);
        const { out, error } = await runFilters(ctx.requestFilters, chunks);
        if (error) refused++;
        if (out.includes(text.slice(0, 10))) clean = false;
      }
    }
    t.equal(refused, cuts.length * 2, `${form}: refused at every cut`);
    t.ok(clean, `${form}: nothing of it was emitted before the refusal`);
  }
  const innocent = Buffer.from(prose.repeat(2_000));
  const ctx = makeCtx(h.bus, { sandbox: 'sb', host: 'paste.example', path: '/new' });
  await runHeaders(h.creds, ctx);
  t.ok(ctx.requestFilters.every((f) => f.keepsLength === true), 'the guard keeps the length: the body keeps its Content-Length');
  const chunks: Buffer[] = [];
  for (let at = 0; at < innocent.length; at += 16_384) chunks.push(innocent.subarray(at, at + 16_384));
  const { out, error } = await runFilters(ctx.requestFilters, chunks);
  t.equal(error, undefined);
  t.ok(out.equals(innocent), 'an innocent long body passes byte for byte');
});

t.test('a placeholder in a body to its own endpoint passes unchanged (no body opt-in)', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const placeholder = h.creds.envFor('sb').OPENAI_API_KEY!;
  const body = Buffer.from(`{"messages":[{"role":"user","content":"my key is ${placeholder}"}]}`);
  const ctx = makeCtx(h.bus, { sandbox: 'sb' });
  await runHeaders(h.creds, ctx);
  t.equal(ctx.bufferRequestBody, undefined, 'no buffering without opt-in');
  const { out, error } = await runFilters(ctx.requestFilters, [body.subarray(0, 40), body.subarray(40)]);
  t.equal(error, undefined);
  t.same(out, body);
});

t.test('foreign placeholders in bodies are refused as unknown, split anywhere', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const foreign = h.creds.envFor('other').GITHUB_TOKEN!;
  const body = Buffer.from(`token=${foreign}&x=1`);
  let refused = 0;
  for (const chunks of splits(body)) {
    const ctx = makeCtx(h.bus, { sandbox: 'sb', host: 'api.github.com' });
    await runHeaders(h.creds, ctx);
    if ((await runFilters(ctx.requestFilters, chunks)).error?.code === 'SLUICE_CREDENTIAL_UNKNOWN') refused++;
  }
  t.equal(refused, body.length);
});

t.test('real secrets in a body, every spelling, every split', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const s = SECRETS.ANTHROPIC_API_KEY;
  const spellings: [string, string][] = [
    ['raw', s],
    ['url', encodeURIComponent(s)],
    ['hex', Buffer.from(s).toString('hex')],
    ['HEX', Buffer.from(s).toString('hex').toUpperCase()],
    ['base64 @0', Buffer.from(s).toString('base64')],
    ['base64 @1', Buffer.from(`a${s}`).toString('base64')],
    ['base64 @2', Buffer.from(`ab${s}`).toString('base64')],
    ['base64url @1', Buffer.from(`\xff${s}\xfe`, 'latin1').toString('base64url')],
    ['base64url @2', Buffer.from(`\xfb\xff${s}`, 'latin1').toString('base64url')],
  ];
  for (const [name, spelled] of spellings) {
    const body = Buffer.from(`{"data":"${spelled}"}`);
    let refused = 0;
    let leaked = false;
    for (const chunks of splits(body)) {
      // Also to the provider's own host: the sandbox never needs to send the real value.
      const ctx = makeCtx(h.bus, { sandbox: 'sb', host: refused % 2 ? 'api.anthropic.com' : 'evil.example' });
      await runHeaders(h.creds, ctx);
      const { out, error } = await runFilters(ctx.requestFilters, chunks);
      if (error?.code === 'SLUICE_SECRET_EXFILTRATION') refused++;
      if (out.includes(spelled.slice(0, 16))) leaked = true;
    }
    t.equal(refused, body.length, `${name}: ${refused}/${body.length}`);
    t.notOk(leaked, `${name}: nothing emitted before the refusal`);
  }
  t.match(h.events.find((e) => e.type === 'finding'), { kind: 'secret_exfiltration', subjects: ['anthropic'] });
});

t.test('innocent bodies stream through unchanged and unheld at message boundaries', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const ctx = makeCtx(h.bus, { sandbox: 'sb', host: 'evil.example' });
  await runHeaders(h.creds, ctx);
  const guard = ctx.requestFilters[0]!;
  const event = Buffer.from('data: {"delta":"sk-proj- is how keys start; so does ghp_"}\n\n');
  const out = await guard.transform(event);
  t.same(out, event, 'a chunk ending in a blank line is passed on whole');
  const tail = Buffer.from('the next word is sk-pr');
  const held = await guard.transform(tail);
  t.same(held, Buffer.from('the next word is '), 'a possible placeholder start is held back');
  t.same(await guard.flush!(), Buffer.from('sk-pr'), 'and released at the end');
  const big = Buffer.alloc(200_000, 'lorem ipsum dolor sit amet, ');
  const ctx2 = makeCtx(h.bus, { sandbox: 'sb', host: 'evil.example' });
  await runHeaders(h.creds, ctx2);
  const r = await runFilters(ctx2.requestFilters, [big.subarray(0, 65536), big.subarray(65536, 131072), big.subarray(131072)]);
  t.same(r.out, big);
});

t.test('opt-in body injection: JSON, form and text; Content-Length is the proxy\'s job', async (t) => {
  const h = await harness({ ...ALL_PROVIDERS, internal: { from: 'env:INTERNAL_TOKEN', hosts: ['i.example'], body: true } });
  t.teardown(h.cleanup);
  const p = h.creds.envFor('sb').INTERNAL_TOKEN!;
  const cases: [string, string, string][] = [
    ['application/json', `{"token":"${p}"}`, `{"token":${JSON.stringify(SECRETS.INTERNAL_TOKEN)}}`],
    ['application/x-www-form-urlencoded', `a=1&token=${p}`, `a=1&token=${encodeURIComponent(SECRETS.INTERNAL_TOKEN)}`],
    ['text/plain', `token ${p} end`, `token ${SECRETS.INTERNAL_TOKEN} end`],
  ];
  for (const [type, body, expected] of cases) {
    const ctx = makeCtx(h.bus, { sandbox: 'sb', host: 'i.example', headers: { 'content-type': type } });
    await runHeaders(h.creds, ctx);
    t.equal(ctx.bufferRequestBody, 1024 * 1024, `${type}: buffered with a cap`);
    const replaced = await h.creds.stage.onRequestBody!(ctx, Buffer.from(body));
    t.equal(replaced?.toString(), expected, type);
    // The proxy then runs the filters over the injected body: the provider's own value is exempt here.
    const { out, error } = await runFilters(ctx.requestFilters, [replaced!]);
    t.equal(error, undefined, `${type}: guard accepts the injected body`);
    t.equal(out.toString(), expected);
  }
  const smaller = makeCtx(h.bus, { sandbox: 'sb', host: 'i.example' });
  smaller.bufferRequestBody = 1000;
  await runHeaders(h.creds, smaller);
  t.equal(smaller.bufferRequestBody, 1000, 'the smallest cap wins');

  const sneaky = makeCtx(h.bus, { sandbox: 'sb', host: 'i.example' });
  await runHeaders(h.creds, sneaky);
  await t.rejects(async () => h.creds.stage.onRequestBody!(sneaky, Buffer.from(`x=${SECRETS.OPENAI_API_KEY}`)), { code: 'SLUICE_SECRET_EXFILTRATION' });
  const wrong = makeCtx(h.bus, { sandbox: 'sb', host: 'i.example' });
  await runHeaders(h.creds, wrong);
  await t.rejects(async () => h.creds.stage.onRequestBody!(wrong, Buffer.from(`x=${h.creds.envFor('sb').OPENAI_API_KEY}`)), { code: 'SLUICE_CREDENTIAL_MISMATCH' });
  const elsewhere = makeCtx(h.bus, { sandbox: 'sb', host: 'api.openai.com' });
  await runHeaders(h.creds, elsewhere);
  t.equal(elsewhere.bufferRequestBody, undefined, 'no buffering for endpoints that did not opt in');
});

t.test('responses: echoed secrets are scrubbed, split anywhere, headers too', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const placeholder = h.creds.envFor('sb').OPENAI_API_KEY!;
  const s = SECRETS.OPENAI_API_KEY;
  const body = Buffer.from(`{"error":"invalid key ${s}","b64":"${Buffer.from(`z${s}`).toString('base64')}"}`);
  let ok = 0;
  for (const chunks of splits(body)) {
    const ctx = makeCtx(h.bus, { sandbox: 'sb' });
    await runHeaders(h.creds, ctx);
    const { out, error } = await runFilters(ctx.responseFilters, chunks);
    const text = out.toString();
    if (!error && text.includes(`invalid key ${placeholder}`) && text.includes('[REDACTED:openai]') && leakedSecrets(text).length === 0) ok++;
  }
  t.equal(ok, body.length, 'scrubbed at every split');
  t.match(h.events.find((e) => e.type === 'finding'), { kind: 'secret_echo', action: 'redacted', subjects: ['openai'] });

  const ctx = makeCtx(h.bus, { sandbox: 'sb' });
  await runHeaders(h.creds, ctx);
  const head = { status: 401, headers: { 'x-echo': `Bearer ${s}`, 'set-cookie': [`k=${s}`, 'b=1'] } };
  await h.creds.stage.onResponseHeaders!(ctx, head);
  t.same(head.headers, { 'x-echo': `Bearer ${placeholder}`, 'set-cookie': [`k=${placeholder}`, 'b=1'] });

  const sse = makeCtx(h.bus, { sandbox: 'sb' });
  await runHeaders(h.creds, sse);
  const event = Buffer.from('data: {"choices":[{"delta":{"content":"hi"}}]}\n\n');
  t.same(await sse.responseFilters[0]!.transform(event), event, 'SSE events are not delayed');
});

/** Spellings an upstream or a sandbox can wrap a key in that a byte-for-byte search misses. */
function hiddenSpellings(s: string): [string, string][] {
  const wrapped = (shift: number, newline: string) => Buffer.from(`${'A'.repeat(shift)}${s}`).toString('base64').match(/.{1,60}/g)!.join(newline);
  const out: [string, string][] = [];
  for (let shift = 0; shift < 45; shift += 4) out.push([`base64, JSON "\\n" every 60, shift ${shift}`, wrapped(shift, '\\n')]);
  out.push(['base64, CRLF every 60', wrapped(7, '\r\n')], ['base64, PHP "\\/"', wrapped(3, '\\n').replaceAll('/', '\\/')]);
  out.push(['JSON \\u, every character', [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')]);
  out.push(['JSON \\u, one character', `${s.slice(0, 5)}\\u00${s.charCodeAt(5).toString(16)}${s.slice(6)}`]);
  out.push(['percent, every byte', [...s].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')]);
  return out;
}

t.test('responses: keys hidden in wrapped base64, JSON escapes or percent-encoding are scrubbed at every split', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  for (const [name, spelled] of hiddenSpellings(SECRETS.OPENAI_API_KEY)) {
    const body = Buffer.from(`{"content":"${spelled}","n":1}`);
    let ok = 0;
    for (const chunks of splits(body)) {
      const ctx = makeCtx(h.bus, { sandbox: 'sb' });
      await runHeaders(h.creds, ctx);
      const { out, error } = await runFilters(ctx.responseFilters, chunks);
      const text = out.toString('latin1');
      const decoded = [text, text.replace(/\\n|\r\n/g, ''), JSON.parse(text).content as string];
      decoded.push(Buffer.from(decoded[2]!.replace(/\s/g, ''), 'base64').toString('latin1'), decodeURIComponent(decoded[2]!.replace(/%(?![0-9a-f]{2})/gi, '')));
      if (!error && text.endsWith('"n":1}') && leakedSecrets(decoded.join('\n')).length === 0) ok++;
    }
    t.equal(ok, body.length, `${name}: scrubbed, valid JSON, at every split`);
  }
});

t.test('requests: keys hidden in wrapped base64, JSON escapes or percent-encoding are refused at every split', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  for (const [name, spelled] of hiddenSpellings(SECRETS.GITHUB_TOKEN)) {
    const body = Buffer.from(`{"content":"${spelled}"}`);
    let refused = 0;
    for (const chunks of splits(body)) {
      const ctx = makeCtx(h.bus, { sandbox: 'sb', host: 'evil.example' });
      await runHeaders(h.creds, ctx);
      if ((await runFilters(ctx.requestFilters, chunks)).error?.code === 'SLUICE_SECRET_EXFILTRATION') refused++;
    }
    t.equal(refused, body.length, `${name}: ${refused}/${body.length}`);
  }
});

t.test('every byte the stage produced in refusals is free of secrets', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const said: string[] = [];
  for (const secret of Object.values(SECRETS)) {
    for (const body of [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')]) {
      const ctx = makeCtx(h.bus, { sandbox: 'sb', host: 'evil.example' });
      await runHeaders(h.creds, ctx);
      const { error } = await runFilters(ctx.requestFilters, [Buffer.from(body)]);
      said.push(JSON.stringify(error ?? null));
    }
  }
  said.push(JSON.stringify(h.events));
  t.same(leakedSecrets(said.join('\n')), []);
  t.ok(h.events.filter((e) => e.type === 'finding').length >= 18, 'findings were emitted');
});
