import { PassThrough } from 'node:stream';
import t from 'tap';
import { request } from 'undici';
import { createFrameParser } from '../../gateway/index.js';
import { startTestGateway, uniqueName } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import type { Upstream } from '../helpers/upstream.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load
// (over the default 120 s at a load average of 25), as test/cli/run.test.ts found.
t.setTimeout(360_000);
/**
 * Dynamic and static policy on running sandboxes. Two sandboxes share a policy; one gets a new
 * one while both run: the change holds for it at once (its open tunnel is closed, its next
 * request refused) and not for the other. Changes to the sections fixed at creation are 409.
 */
const HOST = 'dyn.example.com';

// Reads commands from stdin, so that the test decides when the sandbox makes each request.
const script = `
while read cmd; do
  case "$cmd" in
    get) echo "GET=$(curl -sS -o /dev/null -w '%{http_code}' "https://${HOST}:$PORT/x" 2>&1)";;
    hold) node -e '
      const u = new URL(process.env.HTTPS_PROXY);
      const s = require("net").connect(u.port, u.hostname, () => s.write("CONNECT ${HOST}:" + process.env.PORT + " HTTP/1.1\\r\\nHost: ${HOST}\\r\\n\\r\\n"));
      let head = "";
      s.on("data", (d) => { head += d; if (head.includes("\\r\\n\\r\\n") && !s.reported) { s.reported = 1; console.log("TUNNEL=" + head.split(" ")[1]); } });
      s.on("close", () => console.log("TUNNEL=closed"));
    ' &;;
  esac
done
# stdin closed: the held tunnels go with the sandbox
kill $(jobs -p) 2>/dev/null
exit 0
`;

const policy = (port: number, extra = '') => `version: 1
network_policies:
  dyn:
    endpoints: [{ host: ${HOST}, port: ${port} }]
filesystem_policy:
  read_only: [/usr, /etc]
process:
  run_as_user: 65534
${extra}`;
const denyAll = (extra = '') => `version: 1
network_policies: {}
filesystem_policy:
  read_only: [/usr, /etc]
process:
  run_as_user: 65534
${extra}`;

/** A running sandbox driven through stdin, its stdout collected as it comes. */
interface Driven {
  name: string;
  send(line: string): void;
  output(): string;
  /** Waits until the stdout holds `count` lines matching `re`. */
  until(re: RegExp, count?: number): Promise<string[]>;
  end(): void;
}

async function drive(gw: TestGateway, name: string): Promise<Driven> {
  const input = new PassThrough();
  void request(`http://sluice/v1/sandboxes/${name}/stdin`, { method: 'POST', dispatcher: gw.agent, headers: { 'content-type': 'application/octet-stream' }, body: input }).then((r) => r.body.text(), () => undefined);
  const logs = await request(`http://sluice/v1/sandboxes/${name}/logs?follow=1`, { dispatcher: gw.agent });
  let out = '';
  const waiters = new Set<() => void>();
  const parse = createFrameParser((stream, payload) => {
    if (stream !== 1) return;
    out += payload.toString();
    for (const w of [...waiters]) w();
  });
  logs.body.on('data', (c: Buffer) => parse(c));
  const matching = (re: RegExp) => out.split('\n').filter((l) => re.test(l));
  return {
    name,
    send: (line) => input.write(`${line}\n`),
    output: () => out,
    until(re, count = 1) {
      return new Promise((resolve) => {
        const check = () => {
          const lines = matching(re);
          if (lines.length >= count) {
            waiters.delete(check);
            resolve(lines);
          }
        };
        waiters.add(check);
        check();
      });
    },
    end: () => input.end(),
  };
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'the gateway runs sandboxes: needs root here; CI runs this as root');
} else {
  let gw: TestGateway;
  let upstream: Upstream;
  t.before(async () => {
    const ca = await createTestCA();
    upstream = await startUpstream({ cert: await ca.issue([HOST]) });
    gw = await startTestGateway({ upstreamCA: [ca.caPem], resolve: { [HOST]: '127.0.0.1' } });
  });
  t.teardown(async () => {
    await gw?.close();
    await upstream?.close();
  });

  t.test('a dynamic change applies to one running sandbox at once, and not to another', async (t) => {
    const [a, b] = [`sluice-${uniqueName('dyn-a')}`, `sluice-${uniqueName('dyn-b')}`];
    for (const name of [a, b]) {
      const created = await gw.call('POST', '/v1/sandboxes', { name, command: ['sh', '-c', script], stdin: true, policy: policy(upstream.port), env: { PORT: String(upstream.port) } });
      t.equal(created.status, 201, created.text);
    }
    const [A, B] = [await drive(gw, a), await drive(gw, b)];
    for (const s of [A, B]) s.send('get');
    t.same(await A.until(/^GET=/), ['GET=200'], 'A reaches the host');
    t.same(await B.until(/^GET=/), ['GET=200'], 'B too');
    for (const s of [A, B]) s.send('hold');
    t.same(await A.until(/^TUNNEL=/), ['TUNNEL=200'], 'A holds a tunnel open');
    t.same(await B.until(/^TUNNEL=/), ['TUNNEL=200'], 'B holds one to the same host');

    const put = await gw.call('PUT', `/v1/sandboxes/${a}/policy`, denyAll());
    t.equal(put.status, 200, put.text);
    t.match(put.json, { sandbox: a, revision: 2, closed_tunnels: 1 });
    t.same(await A.until(/^TUNNEL=/, 2), ['TUNNEL=200', 'TUNNEL=closed'], "A's tunnel, no longer allowed, was closed");
    A.send('get');
    t.match((await A.until(/^GET=/, 2))[1], /403/, "A's next request is refused");
    B.send('get');
    t.same(await B.until(/^GET=/, 2), ['GET=200', 'GET=200'], 'B still reaches the host');
    t.notMatch(B.output(), /TUNNEL=closed/, "B's tunnel is untouched");

    const back = await gw.call('PUT', `/v1/sandboxes/${a}/policy`, policy(upstream.port));
    t.match(back.json, { revision: 3, closed_tunnels: 0 });
    A.send('get');
    t.equal((await A.until(/^GET=/, 3))[2], 'GET=200', 'allowed again, at once');

    t.equal((await gw.call('GET', `/v1/sandboxes/${b}/policy`)).json.revision, 1, "B's policy never changed");
    const changes = (await gw.audit()).filter((r) => r.class_uid === 6002 && (r.unmapped as { activity: string }).activity === 'policy_changed');
    t.same(changes.map((r) => (r.container as { name: string }).name), [a, a], 'the audit log has A changing twice, B never');
    for (const s of [A, B]) s.end();
    for (const name of [a, b]) t.equal((await gw.call('GET', `/v1/sandboxes/${name}/wait`)).json.exit_code, 0);
    for (const name of [a, b]) await gw.call('DELETE', `/v1/sandboxes/${name}`);
  });

  t.test('static sections are locked: 409 naming each; invalid is 422; nothing changes', async (t) => {
    const name = `sluice-${uniqueName('static')}`;
    await gw.call('POST', '/v1/sandboxes', { name, command: ['sleep', '60'], policy: policy(upstream.port) });
    const cases: Array<[string, string, string[]]> = [
      ['filesystem_policy', policy(upstream.port).replace('[/usr, /etc]', '[/usr, /etc, /srv]'), ['filesystem_policy']],
      ['process', policy(upstream.port).replace('65534', '1000'), ['process']],
      ['landlock', policy(upstream.port, 'landlock: { compatibility: hard_requirement }\n'), ['landlock']],
      ['all three and the network', denyAll('landlock: { compatibility: best_effort }\n').replace('[/usr, /etc]', '[/usr]').replace('65534', '1'), ['filesystem_policy', 'landlock', 'process']],
    ];
    for (const [label, yaml, sections] of cases) {
      const res = await gw.call('PUT', `/v1/sandboxes/${name}/policy`, yaml);
      t.equal(res.status, 409, label);
      t.equal(res.json.error, 'policy_locked', label);
      t.same(res.json.sections, sections, `${label}: the locked sections are named`);
      t.match(res.json.detail, new RegExp(sections[0]!));
    }
    const invalid = await gw.call('PUT', `/v1/sandboxes/${name}/policy`, 'version: 1\nnetwork_policies: 3\n');
    t.equal(invalid.status, 422);
    t.match(invalid.json.errors, [/:2:\d+: /]);
    const same = await gw.call('PUT', `/v1/sandboxes/${name}/policy`, `# reformatted, same meaning\n${policy(upstream.port).replace('run_as_user: 65534', 'run_as_user: "65534"')}`);
    t.equal(same.status, 200, 'the static sections compare by meaning, not by text');
    t.equal((await gw.call('GET', `/v1/sandboxes/${name}/policy`)).json.revision, 2);
    const refusals = (await gw.audit()).filter((r) => r.class_uid === 6002 && (r.unmapped as { activity: string }).activity === 'policy_refused' && (r.container as { name: string }).name === name);
    t.equal(refusals.length, 5, 'every refusal is audited');
    await gw.call('DELETE', `/v1/sandboxes/${name}?force=true`);
  });
}
