import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parsePolicy, formatPolicyError } from '../../rules/index.js';
import { cliEnv, SLUICE_BIN, startTestGateway, uniqueName } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load.
t.setTimeout(360_000);
/**
 * `landlock` is no silent no-op. Sluice enforces filesystem_policy with the sandbox's mount
 * namespace and applies no Landlock ruleset, so `compatibility: hard_requirement` refuses the
 * sandbox before anything runs (through the gateway and in a Sluice of its own alike), and
 * `best_effort` runs it with a warning that says what enforces the filesystem policy instead.
 */
const policy = (compatibility?: string) => `version: 1
network_policies: {}
filesystem_policy:
  read_only: [/usr, /etc]
${compatibility === undefined ? 'landlock: {}' : `landlock:\n  compatibility: ${compatibility}`}
`;

t.test('loading the policy says what landlock does here', async (t) => {
  const hard = parsePolicy(policy('hard_requirement'), 'p.yaml');
  t.same(hard.errors, []);
  t.match(hard.warnings!.map(formatPolicyError), [/^p\.yaml:6:3: warning: landlock\.compatibility: hard_requirement: .*every sandbox under this policy is refused/]);
  for (const compat of ['best_effort', undefined]) {
    const soft = parsePolicy(policy(compat), 'p.yaml');
    t.match(soft.warnings!.map(formatPolicyError), [/warning: landlock: Sluice applies no Landlock ruleset: filesystem_policy is enforced by each sandbox's own mount namespace/], `compatibility ${compat ?? 'unset'}`);
  }
  t.same(parsePolicy('version: 1\n', 'p.yaml').warnings, [], 'no landlock section, no warning');
});

if (process.getuid?.() !== 0) {
  t.plan(1, 'sandboxes need root here (network namespaces, nftables); CI runs this as root');
} else {
  let gw: TestGateway;
  t.before(async () => {
    gw = await startTestGateway();
  });
  t.teardown(() => gw?.close());

  // The command leaves a mark in a host directory it is given as its workdir: the test sees
  // whether it ran at all.
  const markDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-landlock-'));
    fs.chmodSync(dir, 0o777);
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  t.test('gateway: hard_requirement is refused before the command runs; nothing is left', async (t) => {
    const dir = markDir();
    const name = uniqueName('ll-hard');
    const created = await gw.call('POST', '/v1/sandboxes', { name, driver: 'bwrap', command: ['touch', path.join(dir, 'ran')], workdir: dir, policy: policy('hard_requirement') });
    t.equal(created.status, 500, created.text);
    t.match(created.json, { error: 'sandbox_refused', detail: /landlock\.compatibility is hard_requirement, and Sluice applies no Landlock ruleset/ });
    t.notOk(fs.existsSync(path.join(dir, 'ran')), 'the command never ran');
    t.equal((await gw.call('GET', `/v1/sandboxes/${name}`)).status, 404, 'no record is kept');
    t.notOk(fs.existsSync(path.join(gw.home, 'gateway', 'sandboxes', `sluice-${name}`)));
    t.notOk(fs.existsSync(`/run/sluice/sluice-${name}`), 'no sandbox state was created');
    const failed = (await gw.audit()).filter((e) => JSON.stringify(e).includes(`sluice-${name}`) && /could not start/.test(String(e.message)));
    t.equal(failed.length, 1, 'the refusal is audited');
  });

  t.test('gateway: best_effort runs, and its created event says what enforces the filesystem policy', async (t) => {
    const dir = markDir();
    const name = uniqueName('ll-soft');
    const created = await gw.call('POST', '/v1/sandboxes', { name, driver: 'bwrap', command: ['touch', path.join(dir, 'ran')], workdir: dir, policy: policy('best_effort') });
    t.equal(created.status, 201, created.text);
    t.match((await gw.call('GET', `/v1/sandboxes/${name}/wait`)).json, { exit_code: 0 });
    t.ok(fs.existsSync(path.join(dir, 'ran')), 'the command ran');
    const events = (await gw.audit()).filter((e) => JSON.stringify(e).includes(`sluice-${name}`));
    t.ok(events.some((e) => /sandbox created.*landlock: Sluice applies no Landlock ruleset/.test(String(e.message))), 'the created event carries the warning');
    t.equal((await gw.call('DELETE', `/v1/sandboxes/${name}`)).status, 200);
  });

  t.test('a Sluice of its own: hard_requirement is refused; best_effort warns once', async (t) => {
    const dir = markDir();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-landlock-home-'));
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
    const run = (compat: string) => {
      const file = path.join(dir, `${compat}.yaml`);
      fs.writeFileSync(file, policy(compat));
      return new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(SLUICE_BIN, ['run', '--no-gateway', '--driver', 'bwrap', '--workdir', dir, '--policy', file, '--', 'touch', path.join(dir, `ran-${compat}`)], { env: cliEnv({ SLUICE_HOME: home }), timeout: 120_000 }, (err, _out, stderr) => {
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr });
        });
      });
    };
    const hard = await run('hard_requirement');
    t.not(hard.code, 0, hard.stderr);
    t.match(hard.stderr, /landlock\.compatibility is hard_requirement, and Sluice applies no Landlock ruleset/);
    t.notOk(fs.existsSync(path.join(dir, 'ran-hard_requirement')), 'the command never ran');
    const soft = await run('best_effort');
    t.equal(soft.code, 0, soft.stderr);
    t.ok(fs.existsSync(path.join(dir, 'ran-best_effort')), 'the command ran');
    t.equal(soft.stderr.match(/Sluice applies no Landlock ruleset/g)?.length, 1, `warned once: ${soft.stderr}`);
  });
}
