import t from 'tap';
import { parse, stringify } from 'yaml';
import { parseAuthority } from '../../core/index.js';
import type { Decision, Remedy } from '../../core/index.js';
import { compilePolicy, decideConnectFor, parsePolicy } from '../../rules/index.js';
import { compileYaml } from './helpers.js';

// Every refusal of the network policy carries its fix; each test follows the fix to the letter
// (the allow lines of its YAML go where it says) and checks that the same request then passes.

interface Req {
  method: string;
  url: string;
  body?: unknown;
}

function decide(yaml: string, r: Req): Decision {
  const policy = compileYaml(yaml);
  const m = /^(https?):\/\/([^/?#]+)([^?#]*)$/.exec(r.url)!;
  const dest = parseAuthority(m[2]!, m[1] === 'https' ? 443 : 80);
  const connect = policy.decideConnect(dest);
  if (connect.action === 'deny') return connect;
  const body = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
  const decision = policy.decideRequest(dest, r.method, m[3] || '/', '', { hasBody: body !== undefined, contentType: 'application/json' });
  return decision.body ? decision.body.finish(body ?? Buffer.alloc(0)) : decision;
}

/** The `- allow: {…}` lines of a remedy's YAML, read back as rules. */
function allowLines(remedy: Remedy): unknown[] {
  return remedy.yaml
    .split('\n')
    .map((l) => /^\s*- allow: (\{.*\})\s*$/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .map((flow) => ({ allow: parse(flow) as unknown }));
}

type Doc = { network_policies: Record<string, { endpoints: Array<Record<string, unknown>> }>; network_middlewares?: Record<string, Record<string, unknown>> };

const call = (method: string, params?: unknown) => ({ jsonrpc: '2.0', id: 1, method, ...(params !== undefined ? { params } : {}) });

const MCP = `version: 1
network_policies:
  tools:
    endpoints:
      - host: mcp.example.com
        port: 443
        path: /mcp
        protocol: mcp
        enforcement: enforce
        rules:
          - allow: { method: initialize }
          - allow: { method: tools/call, tool: search_web }
        deny_rules:
          - { method: tools/call, tool: send_email }
`;

t.test('MCP: a tool no rule allows gets the rule naming that tool, which then admits it', async (t) => {
  const req = { method: 'POST', url: 'https://mcp.example.com/mcp', body: call('tools/call', { name: 'list_issues', arguments: {} }) };
  const refused = decide(MCP, req);
  t.equal(refused.action, 'deny');
  t.equal(refused.code, 'l7_denied');
  t.ok(refused.remedy, 'the refusal carries its fix');
  t.equal(refused.remedy!.summary, 'add - allow: { method: tools/call, tool: list_issues } to the rules of endpoint mcp.example.com:443 /mcp of network policy tools');
  const doc = parse(MCP) as Doc;
  const ep = doc.network_policies.tools!.endpoints[0]!;
  ep.rules = [...(ep.rules as unknown[]), ...allowLines(refused.remedy!)];
  t.equal(decide(stringify(doc), req).action, 'allow', 'the policy with the fix admits the call');
  t.equal(decide(stringify(doc), { ...req, body: call('tools/call', { name: 'delete_repo' }) }).action, 'deny', 'and no other tool');
});

t.test('MCP: a deny rule is named, never an allow to add', async (t) => {
  const refused = decide(MCP, { method: 'POST', url: 'https://mcp.example.com/mcp', body: call('tools/call', { name: 'send_email' }) });
  t.equal(refused.action, 'deny');
  t.match(refused.remedy?.summary, /^the deny rule .*send_email.* refuses this on purpose/);
  t.same(allowLines(refused.remedy!), [], 'no allow line');
});

t.test('JSON-RPC: an unlisted method gets its rule; a body that does not parse gets none', async (t) => {
  const yaml = `version: 1
network_policies:
  rpc:
    endpoints:
      - { host: rpc.example.com, port: 443, path: /rpc, protocol: json-rpc, enforcement: enforce, rules: [{ allow: { method: reports.list } }] }
`;
  const req = { method: 'POST', url: 'https://rpc.example.com/rpc', body: call('reports.export') };
  const refused = decide(yaml, req);
  t.equal(refused.action, 'deny');
  const doc = parse(yaml) as Doc;
  const ep = doc.network_policies.rpc!.endpoints[0]!;
  ep.rules = [...(ep.rules as unknown[]), ...allowLines(refused.remedy!)];
  t.equal(decide(stringify(doc), req).action, 'allow');
  const garbage = decide(yaml, { ...req, body: { id: 1, method: 'reports.list' } });
  t.equal(garbage.action, 'deny');
  t.notOk(garbage.remedy, 'an invalid request is not a policy question');
});

t.test('GraphQL: a mutation under access: read-only: the preset becomes its rules plus the operation', async (t) => {
  const yaml = `version: 1
network_policies:
  gh:
    endpoints:
      - { host: api.github.com, port: 443, path: /graphql, protocol: graphql, enforcement: enforce, access: read-only }
`;
  const req = { method: 'POST', url: 'https://api.github.com/graphql', body: { query: 'mutation AddStar { addStar(input: {}) { clientMutationId } }' } };
  const refused = decide(yaml, req);
  t.equal(refused.action, 'deny');
  t.match(refused.remedy?.summary, /replace access: read-only with the rules it stands for plus - allow: \{ operation_type: mutation, operation_name: AddStar \}/);
  const doc = parse(yaml) as Doc;
  const ep = doc.network_policies.gh!.endpoints[0]!;
  delete ep.access;
  ep.rules = allowLines(refused.remedy!);
  const fixed = stringify(doc);
  t.equal(decide(fixed, req).action, 'allow', 'the named mutation passes');
  t.equal(decide(fixed, { ...req, body: { query: '{ viewer { login } }' } }).action, 'allow', 'queries still pass');
  t.equal(decide(fixed, { ...req, body: { query: 'mutation Other { deleteRepository(input: {}) { clientMutationId } }' } }).action, 'deny', 'other mutations do not');
});

t.test('a middleware Sluice cannot run: the fix is on_error: fail_open there, and it then lets the request out', async (t) => {
  const yaml = `version: 1
network_policies:
  api:
    endpoints:
      - { host: api.example.com, port: 443, protocol: rest, access: full }
network_middlewares:
  scanner:
    middleware: vendor/scanner
    endpoints: { include: [api.example.com] }
`;
  const req = { method: 'GET', url: 'https://api.example.com/x' };
  const refused = decide(yaml, req);
  t.equal(refused.code, 'middleware_unavailable');
  t.match(refused.remedy?.summary, /network_middlewares\.scanner .*set on_error: fail_open/);
  const doc = parse(yaml) as Doc;
  doc.network_middlewares!.scanner!.on_error = 'fail_open';
  t.equal(decide(stringify(doc), req).action, 'allow');
});

t.test('no endpoint path selects the request: the endpoint the fix names admits it', async (t) => {
  const yaml = `version: 1
network_policies:
  api:
    endpoints:
      - { host: api.example.com, port: 443, path: "/v1/**", protocol: rest, enforcement: enforce, access: read-only }
`;
  const req = { method: 'GET', url: 'https://api.example.com/v2/things' };
  const refused = decide(yaml, req);
  t.equal(refused.action, 'deny');
  t.match(refused.remedy?.summary, /no endpoint's path selects \/v2\/things: add the endpoint \{ host: api\.example\.com, port: 443, path: \/v2\/things, protocol: rest, rules: \[\{ allow: \{ method: GET, path: \/v2\/things \} \}\] \} to network policy api/);
  const line = refused.remedy!.yaml.split('\n').at(-1)!.replace(/^\s*- /, '');
  const doc = parse(yaml) as Doc;
  doc.network_policies.api!.endpoints.push(parse(line) as Record<string, unknown>);
  t.equal(decide(stringify(doc), req).action, 'allow');
});

t.test('a host no policy names on a loopback address gets no endpoint to add', async (t) => {
  const refused = decide('version: 1\nnetwork_policies: {}\n', { method: 'GET', url: 'http://127.0.0.1:8080/x' });
  t.equal(refused.code, 'policy_denied');
  t.equal(refused.remedy?.advice, true);
  t.match(refused.remedy?.summary, /Sluice never opens/);
});

t.test('a refusal the caller replaces is made without its remedy; every other one, and learning mode, keeps it', async (t) => {
  const yaml = 'version: 1\nnetwork_policies:\n  docs: { endpoints: [{ host: docs.example.com, port: 443 }] }\n';
  const policy = compileYaml(yaml);
  const unnamed = parseAuthority('api.example.com', 443);
  t.ok(policy.decideConnect(unnamed).remedy, 'by default a refusal says how to fix it');
  const bare = policy.decideConnect(unnamed, undefined, { remedy: false });
  t.equal(bare.action, 'deny', 'the verdict does not change');
  t.equal(bare.remedy, undefined, 'no remedy when none is wanted');
  t.equal(policy.decideConnect(parseAuthority('docs.example.com', 443), undefined, { remedy: false }).action, 'allow');
  const { policy: parsed } = parsePolicy(yaml, 'test.yaml');
  const learning = compilePolicy(parsed!, { enforcement: 'audit' }).decideConnect(unnamed, undefined, { remedy: false });
  t.equal(learning.action, 'allow', 'learning mode lets it through');
  t.ok(learning.remedy, 'and keeps the rule it would take, for `sluice policy suggest`');
  // The router's hosts: the refusal is replaced by its decision, for the virtual host and an LLM host on 443;
  // an LLM host on another port is refused like any host, with its remedy.
  t.equal(decideConnectFor(policy, parseAuthority('inference.local', 443), 'virtual').rule, 'privacy router');
  t.equal(decideConnectFor(policy, parseAuthority('api.openai.com', 443), 'provider').rule, 'privacy router');
  const other = decideConnectFor(policy, parseAuthority('api.openai.com', 8080), 'provider');
  t.equal(other.action, 'deny');
  t.ok(other.remedy, 'a refusal that stands says how to fix it');
});
