import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseAuthority } from '../../core/index.js';
import type { Decision, Destination } from '../../core/index.js';
import { UNATTRIBUTED, compilePolicy, formatPolicyError, parsePolicy } from '../../rules/index.js';
import type { CompiledPolicy } from '../../rules/index.js';
import { compileYaml } from './helpers.js';
import { CASES } from './openshell/cases.js';
import type { Case } from './openshell/cases.js';

// A compiled policy keeps each destination's connect decision and each request's verdict (for
// clients no policy scopes by program). These tests try to make one's answer come back for another.
const YAML = `
version: 1
network_policies:
  github:
    endpoints:
      - { host: api.github.com, port: 443, protocol: rest, access: read-only }
  ports:
    endpoints:
      - { host: api.example.com, port: 8443, allowed_ips: [10.0.0.0/8] }
  wild:
    endpoints:
      - { host: "*.wild.example.com", port: 443, tls: skip }
  ips:
    endpoints:
      - { host: 10.1.2.3, port: 8080, allowed_ips: [10.1.2.3] }
      - { host: "[2001:db8::1]", port: 443 }
`;

const YAML_GH = `
version: 1
network_policies:
  gh:
    endpoints:
      - { host: api.github.com, port: 443 }
    binaries: [{ path: /usr/bin/gh }]
`;

const AUTHORITIES = [
  'api.github.com:443',
  'api.github.com:444',
  'API.GITHUB.COM:443',
  'api.example.com:8443',
  'api.example.com:443',
  'a.wild.example.com:443',
  'wild.example.com:443',
  'a.wild.example.com:8443',
  '10.1.2.3:8080',
  '10.1.2.3:443',
  '[2001:db8::1]:443',
  '[2001:db8::2]:443',
  'unknown.example.com:443',
];

const dests = (): Destination[] => AUTHORITIES.map((a) => parseAuthority(a));
const plain = (d: Decision): unknown => JSON.parse(JSON.stringify(d));

t.test('each destination keeps its own answer, asked in any order, with and without a remedy', async (t) => {
  // The reference: every destination asked once, of a policy compiled for it alone.
  const reference = dests().map((d) => ({ full: plain(compileYaml(YAML).decideConnect(d)), bare: plain(compileYaml(YAML).decideConnect(d, undefined, { remedy: false })) }));
  const shared = compileYaml(YAML);
  // Rounds 0 and 1 ask with a new Destination each time (plain HTTP), 2 and 3 with the same ones (a tunnel's).
  const kept = dests();
  for (const round of [0, 1, 2, 3]) {
    const order = round % 2 === 1 ? [...AUTHORITIES.keys()].reverse() : [...AUTHORITIES.keys()];
    for (const i of order) {
      const d = round < 2 ? dests()[i]! : kept[i]!;
      t.same(plain(shared.decideConnect(d)), reference[i]!.full, `round ${round}: ${AUTHORITIES[i]}`);
      t.same(plain(shared.decideConnect(d, undefined, { remedy: false })), reference[i]!.bare, `round ${round}: ${AUTHORITIES[i]} without a remedy`);
    }
  }
  const denied = shared.decideConnect(parseAuthority('unknown.example.com:443'));
  t.ok(denied.remedy, 'a refusal asked for with a remedy has one, though one without was asked for before');
  t.notOk(shared.decideConnect(parseAuthority('unknown.example.com:443'), undefined, { remedy: false }).remedy, '…and the other way round');
});

t.test('a kept decision cannot be changed by the caller it was handed to', async (t) => {
  const policy = compileYaml(YAML);
  const d = parseAuthority('api.example.com:8443');
  const first = policy.decideConnect(d);
  t.throws(() => {
    (first as { action: string }).action = 'deny';
  }, TypeError);
  t.throws(() => (first.endpoint!.allowedIps as string[]).push('0.0.0.0/0'), TypeError);
  t.same(policy.decideConnect(d).endpoint?.allowedIps, ['10.0.0.0/8'], 'the next caller gets the policy’s answer');
});

t.test('a policy that scopes by program decides for each program, never from the kept answers', async (t) => {
  const policy = compileYaml(YAML_GH);
  const d = parseAuthority('api.github.com:443');
  const gh = { exe: '/usr/bin/gh', ancestors: [] };
  const curl = { exe: '/usr/bin/curl', ancestors: [] };
  // No identity at all is a client the binaries do not scope (a host client): the kept answer.
  const unscoped = plain(compileYaml(YAML_GH).decideConnect(d));
  for (let i = 0; i < 3; i++) {
    t.equal(policy.decideConnect(d, gh).action, 'allow', 'gh may');
    t.equal(policy.decideConnect(d, curl).action, 'deny', 'curl may not');
    t.equal(policy.decideConnect(d, UNATTRIBUTED).action, 'deny', 'a program Sluice could not identify may not');
    t.same(plain(policy.decideConnect(d)), unscoped, 'an unscoped client gets what it always got');
    t.equal(policy.decideConnect(d, curl).action, 'deny', 'and curl, asked after it, still may not');
  }
});

t.test('a policy compiled again (a reload) answers from its own rules', async (t) => {
  const before = compileYaml(YAML);
  const d = parseAuthority('api.github.com:443');
  t.equal(before.decideConnect(d).action, 'allow');
  const after = compileYaml(YAML.replace('api.github.com', 'uploads.github.com'));
  t.equal(after.decideConnect(d).action, 'deny', 'the new policy does not answer from the old one’s decisions');
  t.equal(before.decideConnect(d).action, 'allow', 'and the old one still answers for itself');
});

t.test("every OpenShell case decides the same through a shared policy's kept answers as through a fresh compile", async (t) => {
  // Requests as OpenShell's cases make them, without program identity (so every one may be kept),
  // asked of one compiled policy per fixture in two orders, against a policy compiled for each.
  const fixtures = path.join(import.meta.dirname, '../fixtures/openshell/accepted');
  const text = (source: string) => (source.includes('\n') ? source : readFileSync(path.join(fixtures, source), 'utf8'));
  const compile = (source: string) => {
    const { policy, errors } = parsePolicy(text(source), 'case.yaml');
    if (!policy) throw new Error(errors.map(formatPolicyError).join('\n'));
    return compilePolicy(policy);
  };
  const decide = (policy: CompiledPolicy, c: Case) => {
    const m = /^(https?):\/\/([^/?#]+)([^?#]*)(?:\?(.*))?$/.exec(c.url)!;
    const d = parseAuthority(m[2]!, m[1] === 'https' ? 443 : 80);
    const connect = policy.decideConnect(d);
    if (c.method === 'CONNECT') return plain(connect);
    const decision = policy.decideRequest(d, c.method, m[3] || '/', m[4] ?? '', {
      hasBody: c.body !== undefined,
      ...(c.headers?.accept ? { accept: c.headers.accept } : {}),
      ...(c.headers?.['content-type'] ? { contentType: c.headers['content-type'] } : {}),
    });
    const final = decision.body ? decision.body.finish(Buffer.from(JSON.stringify(c.body ?? null))) : decision;
    return { connect: plain(connect), request: JSON.parse(JSON.stringify({ ...final, body: undefined })) };
  };
  const reference = CASES.map((c) => decide(compile(c.policy), c));
  const shared = new Map<string, CompiledPolicy>();
  const sharedOf = (source: string) => shared.get(source) ?? shared.set(source, compile(source)).get(source)!;
  let checked = 0;
  for (const order of [[...CASES.keys()], [...CASES.keys()].reverse()]) {
    for (const i of order) {
      t.same(decide(sharedOf(CASES[i]!.policy), CASES[i]!), reference[i], `${CASES[i]!.from}: ${CASES[i]!.method} ${CASES[i]!.url}`);
      checked++;
    }
  }
  t.ok(checked >= 2 * 100, `${checked} decisions compared`);
});
