import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { z } from 'zod';
import { readFrames, startTestGateway, uniqueName } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load
// (over the default 120 s at a load average of 25), as test/cli/run.test.ts found.
t.setTimeout(360_000);
/**
 * Every endpoint of the control-plane API through undici over the unix socket, against a real
 * gateway running real (bwrap) sandboxes; the OpenAPI document is held to what is served.
 */
if (process.getuid?.() !== 0) {
  t.plan(0, 'the gateway runs sandboxes: needs root here (network namespaces, nftables); CI runs this as root');
} else {
  let gw: TestGateway;
  t.before(async () => {
    gw = await startTestGateway();
  });
  t.teardown(() => gw?.close());

  const create = (body: Record<string, unknown>) => gw.call('POST', '/v1/sandboxes', { driver: 'bwrap', ...body });

  t.test('the socket is the owner\'s alone', async (t) => {
    t.equal((fs.statSync(gw.gateway.socketPath).mode & 0o777).toString(8), '600');
    t.equal((fs.statSync(path.dirname(gw.gateway.socketPath)).mode & 0o777).toString(8), '700');
  });

  t.test('health, version; a second gateway on the same home is refused', async (t) => {
    const health = await gw.call('GET', '/v1/health');
    t.equal(health.status, 200);
    t.equal(health.json.status, 'ok');
    const version = await gw.call('GET', '/v1/version');
    t.match(version.json, { api: 'v1', version: /^\d+\.\d+\.\d+/ });
    await t.rejects(startTestGateway({ home: gw.home }), /already running/);
  });

  t.test('create, inspect, list, wait, logs, remove', async (t) => {
    const name = uniqueName('life');
    const created = await create({ name, command: ['sh', '-c', 'echo "to out"; echo "to err" >&2; exit 7'], env: { GREETING: 'hi' } });
    t.equal(created.status, 201, created.text);
    t.equal(created.json.name, `sluice-${name}`, 'the sluice- prefix is added');
    t.equal(created.headers.location, `/v1/sandboxes/sluice-${name}`);
    t.match(created.json, { driver: 'bwrap', state: 'running', env: ['GREETING'], policy: { revision: 1 } });
    t.match(created.json.proxy, { host: /^10\.200\./, port: Number }, 'its proxy listens on its own veth address');
    const waited = await gw.call('GET', `/v1/sandboxes/${name}/wait`);
    t.same(waited.json, { name: `sluice-${name}`, state: 'exited', exit_code: 7 });
    const one = await gw.call('GET', `/v1/sandboxes/sluice-${name}`);
    t.match(one.json, { state: 'exited', exit_code: 7, reason: /exited with 7/ });
    t.ok(((await gw.call('GET', '/v1/sandboxes')).json.sandboxes as Array<{ name: string }>).some((s) => s.name === `sluice-${name}`), 'listed');

    const frames = await request(`http://sluice/v1/sandboxes/${name}/logs`, { dispatcher: gw.agent });
    t.equal(frames.headers['content-type'], 'application/vnd.sluice.stream');
    const out = readFrames(Buffer.from(await frames.body.arrayBuffer()));
    t.equal(out.stdout, 'to out\n');
    t.equal(out.stderr, 'to err\n');
    t.same(out.notes.at(-1), { exit_code: 7, state: 'exited' }, 'the last frame says how it ended');
    t.equal((await gw.call('GET', `/v1/sandboxes/${name}/logs?format=raw&stderr=false`)).text, 'to out\n', 'raw, one stream');
    t.equal((await gw.call('GET', `/v1/sandboxes/${name}/logs?format=raw&stdout=0`)).text, 'to err\n');

    t.equal((await gw.call('DELETE', `/v1/sandboxes/${name}`)).status, 200);
    t.equal((await gw.call('GET', `/v1/sandboxes/${name}`)).status, 404);
    t.notOk(fs.existsSync(path.join(gw.home, 'gateway', 'sandboxes', `sluice-${name}`)), 'its record, policy and output are gone');
  });

  t.test('stdin streamed in, output followed live; stop; kill', async (t) => {
    const cat = uniqueName('cat');
    t.equal((await create({ name: cat, command: ['cat'], stdin: true })).status, 201);
    const follow = request(`http://sluice/v1/sandboxes/${cat}/logs?follow=1`, { dispatcher: gw.agent });
    const sent = await request(`http://sluice/v1/sandboxes/${cat}/stdin`, { method: 'POST', dispatcher: gw.agent, headers: { 'content-type': 'application/octet-stream' }, body: 'line one\nline two\n' });
    t.same(await sent.body.json(), { bytes: 18 });
    const second = await gw.call('POST', `/v1/sandboxes/${cat}/stdin`, undefined, { 'content-type': 'application/octet-stream' });
    t.equal(second.status, 409, 'stdin can be attached once');
    const followed = readFrames(Buffer.from(await (await follow).body.arrayBuffer()));
    t.equal(followed.stdout, 'line one\nline two\n', 'what went in came out, followed until the end');
    t.match(followed.notes.at(-1), { exit_code: 0 });
    t.equal((await gw.call('POST', `/v1/sandboxes/${cat}/stdin`, undefined, { 'content-type': 'application/octet-stream' })).status, 409, 'an ended sandbox takes no stdin');

    const noStdin = uniqueName('nostdin');
    await create({ name: noStdin, command: ['sh', '-c', 'cat; echo eof'] });
    t.equal((await gw.call('GET', `/v1/sandboxes/${noStdin}/wait`)).json.exit_code, 0, 'without stdin the command reads end-of-file');
    t.equal((await gw.call('POST', `/v1/sandboxes/${noStdin}/stdin`, undefined, { 'content-type': 'application/octet-stream' })).status, 409);

    const sleeper = uniqueName('sleep');
    await create({ name: sleeper, command: ['sleep', '60'] });
    t.equal((await gw.call('DELETE', `/v1/sandboxes/${sleeper}`)).status, 409, 'a running sandbox is not removed without force');
    const stopped = await gw.call('POST', `/v1/sandboxes/${sleeper}/stop`, { grace_ms: 5000 });
    t.match(stopped.json, { state: 'stopped', exit_code: 143 }, 'SIGTERM ended it (128 + 15)');

    const trapper = uniqueName('trap');
    await create({ name: trapper, command: ['sh', '-c', 'trap "echo got USR1; exit 9" USR1; echo ready; while :; do sleep 0.05; done'] });
    await waitForOutput(gw, trapper, 'ready');
    t.equal((await gw.call('POST', `/v1/sandboxes/${trapper}/kill`, { signal: 'SIGUSR1' })).status, 200);
    t.equal((await gw.call('GET', `/v1/sandboxes/${trapper}/wait`)).json.exit_code, 9, 'the signal reached the command');
    t.equal((await gw.call('POST', `/v1/sandboxes/${trapper}/kill`, { signal: 'SIGTERM' })).status, 409, 'no signal to an ended one');

    const forced = uniqueName('force');
    await create({ name: forced, command: ['sleep', '60'] });
    t.equal((await gw.call('DELETE', `/v1/sandboxes/${forced}?force=true`)).status, 200, 'force stops and removes');
    for (const n of [cat, noStdin, sleeper, trapper]) await gw.call('DELETE', `/v1/sandboxes/${n}`);
  });

  t.test('refusals: every problem named, nothing created', async (t) => {
    const bad = await gw.call('POST', '/v1/sandboxes', { command: [], driver: 'lxc', surprise: 1 });
    t.equal(bad.status, 400);
    t.equal(bad.json.error, 'invalid_request');
    t.equal((bad.json.problems as string[]).length, 3, (bad.json.problems as string[]).join('; '));
    const yaml = await gw.call('POST', '/v1/sandboxes', 'command: [true]');
    t.equal(yaml.status, 415, 'the create body is JSON');
    const name = uniqueName('badpolicy');
    const invalid = await create({ name, command: ['true'], policy: 'version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: x.example.com }]\n    surprise: true\n' });
    t.equal(invalid.status, 422);
    t.equal(invalid.json.error, 'policy_invalid');
    t.match(invalid.json.errors, [/policy of sluice-.*:4:\d+: .*port/, /:5:\d+: unknown key "surprise"/], 'positions in the policy text');
    t.equal((await gw.call('GET', `/v1/sandboxes/${name}`)).status, 404, 'nothing was created');
    const dup = uniqueName('dup');
    t.equal((await create({ name: dup, command: ['true'] })).status, 201);
    t.equal((await create({ name: dup, command: ['true'] })).status, 409, 'a name is taken until removed');
    await gw.call('GET', `/v1/sandboxes/${dup}/wait`);
    await gw.call('DELETE', `/v1/sandboxes/${dup}`);
    t.equal((await create({ name: '../../etc', command: ['true'] })).status, 400);
    t.equal((await gw.call('PATCH', '/v1/sandboxes')).status, 405);
    t.equal((await gw.call('GET', '/v1/nothing')).status, 404);
    const image = await gw.call('POST', '/v1/sandboxes', { name: uniqueName('img'), driver: 'docker', image: 'sluice-no-such-image:latest', command: ['true'] });
    t.equal(image.status, 500);
    t.match(image.json, { error: 'sandbox_refused', detail: /sluice-no-such-image:latest/ });
  });

  t.test("a sandbox policy's load warnings reach the event stream, under its name", async (t) => {
    const name = uniqueName('warned');
    const seen: Array<{ sandbox?: string; warnings?: string[] }> = [];
    const off = gw.gateway.bus.on((e) => {
      if (e.type === 'policy') seen.push(e);
    });
    t.teardown(off);
    // binaries would warn outside a sandbox; a sandbox's listener enforces them, so its policy loads without that warning
    const policy = 'version: 1\nnetwork_policies:\n  a:\n    binaries: [{ path: /usr/bin/curl }]\n    endpoints: [{ host: api.github.com, port: 443, tls: passthrough }]\n';
    t.equal((await create({ name, command: ['true'], policy })).status, 201);
    const event = seen.find((e) => e.sandbox === `sluice-${name}`);
    t.match(event, { warnings: [/policy of sluice-.*:5:\d+: warning: network_policies\.a\.endpoints\[0\]\.tls: 'tls: passthrough' is deprecated/] }, 'file:line:col, what Sluice does instead');
    t.notMatch(JSON.stringify(event?.warnings ?? []), /binaries are enforced only/, 'binaries are enforced on a sandbox of the gateway');
    await gw.call('GET', `/v1/sandboxes/${name}/wait`);
    await gw.call('DELETE', `/v1/sandboxes/${name}`);
  });

  t.test('default policy: get, put (written to its file), invalid put changes nothing', async (t) => {
    const before = await gw.call('GET', '/v1/policy');
    t.match(before.json, { yaml: /version: 1/, static_sections: ['filesystem_policy', 'landlock', 'process'] });
    const next = 'version: 1\nnetwork_policies:\n  docs:\n    endpoints: [{ host: docs.example.com, port: 443 }]\n';
    const put = await gw.call('PUT', '/v1/policy', next);
    t.match(put.json, { closed_tunnels: 0, persisted: false }, 'the embedded default has no file to write');
    t.equal((await gw.call('GET', '/v1/policy')).json.yaml, next);
    const bad = await gw.call('PUT', '/v1/policy', 'version: 2\n');
    t.equal(bad.status, 422);
    t.equal((await gw.call('GET', '/v1/policy')).json.yaml, next, 'the last good one stays');
    t.equal((await gw.call('PUT', '/v1/policy', next, { 'content-type': 'image/png' })).status, 415);
    const inherited = uniqueName('inherit');
    await create({ name: inherited, command: ['true'] });
    t.equal((await gw.call('GET', `/v1/sandboxes/${inherited}/policy`)).json.yaml, next, 'a new sandbox starts from the default');
    await gw.call('GET', `/v1/sandboxes/${inherited}/wait`);
    await gw.call('DELETE', `/v1/sandboxes/${inherited}`);
  });

  t.test('the OpenAPI document lists exactly what is served, and what is served matches it', async (t) => {
    const doc = (await gw.call('GET', '/v1/openapi.json')).json as { openapi: string; paths: Record<string, Record<string, { 'x-sluice-scope': string; responses: Record<string, { content: Record<string, { schema?: unknown }> }> }>> };
    t.equal(doc.openapi, '3.1.0');
    const operations = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    t.ok(operations.length >= 19, `${operations.length} operations`);
    // Every documented operation is served: the router answers neither 404 nor 405 for it.
    for (const op of operations) {
      const [method, p] = op.split(' ') as [string, string];
      if (p === '/v1/events' || p.endsWith('/logs') || p.endsWith('/wait') || p.endsWith('/stdin')) continue; // streams: exercised below
      const res = await gw.call(method, p.replace('{name}', 'sluice-no-such-sandbox'), method === 'GET' || method === 'DELETE' ? undefined : {});
      t.not(res.status, 405, `${op} is routed`);
      if (!p.includes('{name}')) t.not(res.status, 404, `${op} is served`);
      else t.equal(res.json.error, res.status === 404 ? 'not_found' : res.json.error, `${op}: 404 only for the missing sandbox`);
    }
    // Nothing undocumented is served: a request for each method on each documented path that is not documented gets 405.
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const m of ['GET', 'POST', 'PUT', 'DELETE'].filter((m) => !(m.toLowerCase() in ops))) {
        t.equal((await gw.call(m, p.replace('{name}', 'x'))).status, 405, `${m} ${p} is not served`);
      }
    }
    // Responses validate against the documented schemas.
    const schemaFor = (p: string, m: string, status: number) => {
      const json = doc.paths[p]![m]!.responses[String(status)]!.content['application/json']!.schema;
      return z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]);
    };
    const name = uniqueName('schema');
    const checks: Array<[string, string, number, () => Promise<{ status: number; json: unknown }>]> = [
      ['/v1/health', 'get', 200, () => gw.call('GET', '/v1/health')],
      ['/v1/version', 'get', 200, () => gw.call('GET', '/v1/version')],
      ['/v1/sandboxes', 'post', 201, () => create({ name, command: ['true'] })],
      ['/v1/sandboxes/{name}/wait', 'get', 200, () => gw.call('GET', `/v1/sandboxes/${name}/wait`)],
      ['/v1/sandboxes/{name}', 'get', 200, () => gw.call('GET', `/v1/sandboxes/${name}`)],
      ['/v1/sandboxes', 'get', 200, () => gw.call('GET', '/v1/sandboxes')],
      ['/v1/sandboxes/{name}/policy', 'get', 200, () => gw.call('GET', `/v1/sandboxes/${name}/policy`)],
      ['/v1/sandboxes/{name}/policy', 'put', 409, () => gw.call('PUT', `/v1/sandboxes/${name}/policy`, 'version: 1\n')],
      ['/v1/policy', 'get', 200, () => gw.call('GET', '/v1/policy')],
      ['/v1/providers', 'get', 200, () => gw.call('GET', '/v1/providers')],
      ['/v1/providers/{name}/reload', 'post', 404, () => gw.call('POST', '/v1/providers/none/reload')],
      ['/v1/sandboxes/{name}', 'delete', 200, () => gw.call('DELETE', `/v1/sandboxes/${name}`)],
      ['/v1/sandboxes/{name}', 'get', 404, () => gw.call('GET', `/v1/sandboxes/${name}`)],
      ['/v1/sandboxes', 'post', 400, () => gw.call('POST', '/v1/sandboxes', {})],
    ];
    for (const [p, m, status, run] of checks) {
      const res = await run();
      t.equal(res.status, status, `${m.toUpperCase()} ${p} -> ${status}`);
      const parsed = schemaFor(p, m, status).safeParse(res.json);
      t.ok(parsed.success, `${m.toUpperCase()} ${p} ${status} matches its documented schema${parsed.success ? '' : `: ${JSON.stringify(parsed.error.issues)}`}`);
    }
  });
}

async function waitForOutput(gw: TestGateway, name: string, text: string): Promise<void> {
  const res = await request(`http://sluice/v1/sandboxes/${name}/logs?follow=1&format=raw`, { dispatcher: gw.agent });
  let seen = '';
  for await (const chunk of res.body) {
    seen += chunk.toString();
    if (seen.includes(text)) break;
  }
  res.body.destroy();
}
