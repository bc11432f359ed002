import t from 'tap';
import { PassThrough } from 'node:stream';
import { startWorld } from '../proxy/fixtures.js';
import type { World } from '../proxy/fixtures.js';
import { SECRETS, leakedSecrets } from '../credentials/context.js';
import { rawRequest, tunnelRequest } from './wire.js';

/**
 * Issue 16 item 7: strings a request brings (its path, its Host header, its CONNECT target, the
 * reasons that quote them) reach the audit log and --verbose output; none may carry a secret.
 * Each attack puts one there, then every log is searched for every secret used, in every
 * spelling (raw, URL, hex, base64, lower- and upper-case).
 */
const FOREIGN = {
  AWS: 'AKIAZ7QWERTYUIOPASD2',
  JWT: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  STRIPE: 'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  SLACK: 'xoxb-123456789012-1234567890123-abcdefghijABCDEFGHIJklmn',
};

const human = new PassThrough();
const verbose: Buffer[] = [];
human.on('data', (c: Buffer) => verbose.push(c));
let world: World;

t.before(async () => {
  world = await startWorld((p) => `
version: 1
network_policies:
  api:
    endpoints:
      - { host: api.example.test, port: ${p.api} }
      - { host: "*.example.test", port: ${p.other} }
  plain:
    endpoints:
      - { host: plain.example.test, port: ${p.plain} }
privacy:
  egress: { default: off }
providers:
  github: { from: "env:GITHUB_TOKEN", hosts: [api.github.com] }
  openai: { from: "env:OPENAI_API_KEY" }
`, { human, env: { GITHUB_TOKEN: SECRETS.GITHUB_TOKEN, OPENAI_API_KEY: SECRETS.OPENAI_API_KEY } });
});

t.teardown(() => world?.close());

const plainHost = () => `plain.example.test:${world.plain.port}`;
const get = (path: string, host = plainHost()) => `GET http://${plainHost()}${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

t.test('secrets in paths, Host headers and CONNECT targets', async (t) => {
  const attacks: Array<[string, () => Promise<{ status: number }>]> = [
    ['AWS key in an allowed path', () => rawRequest(world.sluice.port, get(`/files/${FOREIGN.AWS}/x`))],
    ['JWT in an allowed path', () => rawRequest(world.sluice.port, get(`/callback/${FOREIGN.JWT}`))],
    ['Stripe key in an invalid path', () => rawRequest(world.sluice.port, get(`/x/%zz/${FOREIGN.STRIPE}`))],
    ['Slack token in an encoded-slash path', () => rawRequest(world.sluice.port, get(`/x%2F${FOREIGN.SLACK}`))],
    ['AWS key in a mismatching Host header', () => rawRequest(world.sluice.port, get('/', `${FOREIGN.AWS}.example.test`))],
    ['the real GitHub token in a mismatching Host header', () => rawRequest(world.sluice.port, get('/', `${SECRETS.GITHUB_TOKEN}.example.test`))],
    ['the real OpenAI key in a path', () => rawRequest(world.sluice.port, get(`/v1/${SECRETS.OPENAI_API_KEY}`))],
    ['the real OpenAI key percent-encoded in a path', () => rawRequest(world.sluice.port, get(`/v1/${[...SECRETS.OPENAI_API_KEY].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}`))],
    ['AWS key in a denied host name', () => rawRequest(world.sluice.port, `CONNECT ${FOREIGN.AWS}.denied.test:443 HTTP/1.1\r\nHost: x\r\n\r\n`)],
    ['the real GitHub token in an allowed wildcard host name', () => rawRequest(world.sluice.port, `CONNECT ${SECRETS.GITHUB_TOKEN.toUpperCase()}.example.test:1 HTTP/1.1\r\nHost: x\r\n\r\n`)],
    ['AWS key in a Host header inside a tunnel', () => tunnelRequest(world.sluice.port, `api.example.test:${world.api.port}`, world.sluice.caCertPem, `GET / HTTP/1.1\r\nHost: ${FOREIGN.AWS}.example.test\r\nConnection: close\r\n\r\n`)],
    ['JWT in a path inside a tunnel', () => tunnelRequest(world.sluice.port, `api.example.test:${world.api.port}`, world.sluice.caCertPem, `GET /a/${FOREIGN.JWT}/b HTTP/1.1\r\nHost: api.example.test:${world.api.port}\r\nConnection: close\r\n\r\n`)],
  ];
  for (const [name, attack] of attacks) {
    const res = await attack();
    t.ok(res.status > 0, `${name}: answered ${res.status}`);
  }
  const audit = JSON.stringify(await world.sluice.readAudit());
  t.ok(audit.includes('host_mismatch') && audit.includes('path_invalid'), 'the refusals are in the audit log');
  t.match(audit, /\[REDACTED:aws_access_key\]/, 'secrets are replaced by their type');
  const logs = `${audit}\n${Buffer.concat(verbose).toString()}`;
  if (process.env.DUMP_LOGS) (await import('node:fs')).writeFileSync(process.env.DUMP_LOGS, logs);
  t.same(leakedSecrets(logs), [], 'no provider secret in any spelling');
  t.same(leakedSecrets(logs.toUpperCase()), [], 'nor upper-cased');
  const lower = logs.toLowerCase();
  for (const [name, secret] of Object.entries({ ...FOREIGN, GITHUB_TOKEN: SECRETS.GITHUB_TOKEN })) {
    t.notOk(logs.includes(secret), `${name} not in the logs`);
    t.notOk(lower.includes(secret.toLowerCase()), `${name} not in the logs, lower-cased`);
  }
});
