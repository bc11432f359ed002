import t from 'tap';
import { startWorld, get, interceptedTo } from './fixtures.js';

const GH = 'ghp_' + 'Zq8XbW2mK9vLr4TnY7pQs1cD6fH3jA5eU0gI';
const policy = (extra: string) => (p: { api: number }) => `
version: 1
network_policies:
  api:
    endpoints: [{ host: api.example.test, port: ${p.api} }]
${extra}`;

t.test('egress DLP (default: block): secrets in query strings and bodies never leave', async (t) => {
  const world = await startWorld(policy(''));
  t.teardown(() => world.close());
  const q = await get(world, `https://api.example.test:${world.api.port}/search?token=${GH}`);
  t.equal(q.status, 403);
  t.equal(q.json().error, 'dlp_blocked');
  t.same(q.json().entities, ['github_token'], 'names the type');
  t.notMatch(q.text, new RegExp(GH), 'never the value');
  const body = await get(world, `https://api.example.test:${world.api.port}/upload`, { method: 'POST', body: `config:\n  token: ${GH}\n` });
  t.equal(body.status, 403);
  t.equal(body.json().error, 'dlp_blocked');
  const clean = await get(world, `https://api.example.test:${world.api.port}/upload`, { method: 'POST', body: 'nothing secret here' });
  t.equal(clean.status, 200);
  t.notOk(world.api.requests.some((r) => r.body.toString().includes(GH.slice(0, 12)) || r.url.includes('ghp_')), 'no byte of the secret reached the upstream');
  const audit = JSON.stringify(await world.sluice.readAudit());
  t.notMatch(audit, new RegExp(GH), 'not in the audit log');
  t.match(audit, /github_token/, 'the finding is audited by type');
});

t.test('a secret split across body chunks is caught before any of it is sent', async (t) => {
  const world = await startWorld(policy(''));
  t.teardown(() => world.close());
  const secure = await interceptedTo(world);
  const chunks: Buffer[] = [];
  secure.on('data', (c: Buffer) => chunks.push(c));
  secure.write(`POST /u HTTP/1.1\r\nHost: api.example.test:${world.api.port}\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const payload = `${'x'.repeat(10_000)} token=${GH} ${'y'.repeat(100)}`;
  const cut = 10_000 + 7 + 10;
  for (const part of [payload.slice(0, cut), payload.slice(cut)]) {
    secure.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
    await new Promise((r) => setTimeout(r, 100));
  }
  secure.write('0\r\n\r\n');
  await new Promise((r) => setTimeout(r, 500));
  secure.destroy();
  const upstreamSaw = world.api.requests.map((r) => r.body.toString()).join('');
  t.notMatch(upstreamSaw, /ghp_/, 'no part of the token reached the upstream');
  t.notMatch(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 200/, 'the client is refused (or cut off), never a success');
});

t.test('a scanned body keeps its Content-Length; one refused mid-body never arrives whole', async (t) => {
  const world = await startWorld(policy(''));
  t.teardown(() => world.close());
  const line = 'The deploy notes say the staging cluster restarts at noon.\n';
  const clean = line.repeat(Math.ceil(300_000 / line.length)).slice(0, 300_000);
  const ok = await get(world, `https://api.example.test:${world.api.port}/upload`, { method: 'POST', body: clean });
  t.equal(ok.status, 200);
  const sent = world.api.requests.at(-1)!;
  t.equal(sent.headers['content-length'], '300000', 'the upstream is told the length the client declared');
  t.equal(sent.headers['transfer-encoding'], undefined, 'not re-sent chunked');
  t.ok(sent.complete && sent.body.equals(Buffer.from(clean)), 'every byte, unchanged');

  // A declared length, a secret 200 KB in, TLS-sized writes: the upstream gets neither the secret nor a whole request.
  const body = Buffer.from(`${clean.slice(0, 200_000)}token=${GH}\n${clean.slice(0, 99_953)}`);
  const secure = await interceptedTo(world);
  const answer: Buffer[] = [];
  secure.on('data', (c: Buffer) => answer.push(c));
  secure.on('error', () => undefined);
  const before = world.api.requests.length;
  secure.write(`POST /u HTTP/1.1\r\nHost: api.example.test:${world.api.port}\r\nContent-Length: ${body.length}\r\n\r\n`);
  for (let at = 0; at < body.length && !secure.destroyed; at += 16_384) {
    secure.write(body.subarray(at, at + 16_384));
    await new Promise((r) => setImmediate(r));
  }
  // The refusal's head, or the connection's end; on a loaded machine that may take a while.
  for (const deadline = Date.now() + 15_000; Date.now() < deadline && !secure.destroyed && !Buffer.concat(answer).includes('\r\n\r\n'); ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  secure.destroy();
  const tried = world.api.requests.slice(before);
  t.notMatch(tried.map((r) => r.body.toString()).join(''), /ghp_/, 'no byte of the secret reached the upstream');
  t.ok(tried.every((r) => !r.complete), 'no request reached the upstream whole');
  t.match(Buffer.concat(answer).toString(), /^HTTP\/1\.1 403/, 'the client reads the refusal');
});

t.test('privacy.egress.default: redact masks the secret byte for byte', async (t) => {
  const world = await startWorld(policy('privacy:\n  egress: { default: redact }\n'));
  t.teardown(() => world.close());
  const res = await get(world, `https://api.example.test:${world.api.port}/upload`, { method: 'POST', body: `key=${GH}&ok=1` });
  t.equal(res.status, 200);
  const seen = world.api.requests.at(-1)!.body.toString();
  t.notMatch(seen, /ghp_/);
  t.match(seen, /^key=\*+&ok=1$/);
  t.equal(seen.length, `key=${GH}&ok=1`.length, 'length unchanged');
});

t.test('privacy.egress.default: off lets it through', async (t) => {
  const world = await startWorld(policy('privacy:\n  egress: { default: "off" }\n'));
  t.teardown(() => world.close());
  const res = await get(world, `https://api.example.test:${world.api.port}/q?token=${GH}`);
  t.equal(res.status, 200);
});

t.test('per endpoint: dlp overrides privacy.egress.default, both ways', async (t) => {
  const world = await startWorld((p) => `
version: 1
network_policies:
  trusted:
    endpoints: [{ host: api.example.test, port: ${p.api}, dlp: "off" }]
  strict:
    endpoints: [{ host: other.example.test, port: ${p.other}, dlp: block }]
privacy:
  egress: { default: "off" }
`);
  t.teardown(() => world.close());
  const trusted = await get(world, `https://api.example.test:${world.api.port}/q?token=${GH}`);
  t.equal(trusted.status, 200, 'dlp: off on the endpoint lets it through');
  const strict = await get(world, `https://other.example.test:${world.other.port}/q?token=${GH}`);
  t.equal(strict.status, 403, 'dlp: block on the endpoint blocks even with the default off');
  t.equal(strict.json().error, 'dlp_blocked');
});
