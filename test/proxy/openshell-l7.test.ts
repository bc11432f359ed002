import t from 'tap';
import { request } from 'undici';
import { startWorld, agentFor, curl } from './fixtures.js';

/**
 * OpenShell's L7 protocols through a real Sluice with real clients (undici, curl): GraphQL
 * operation rules on POST bodies and GET queries with endpoint path selectors beside REST on one
 * host, MCP tool rules on streamable-HTTP bodies (batches included) and its GET event stream,
 * JSON-RPC methods, and the deny readings of issue 16 on the wire. Refused bodies never reach the
 * upstream.
 */
const world = await startWorld(
  (p) => `
version: 1
network_policies:
  github:
    endpoints:
      - host: api.example.test
        port: ${p.api}
        path: /graphql
        protocol: graphql
        rules:
          - allow: { operation_type: query, fields: [viewer, repository] }
        deny_rules:
          - { operation_type: query, fields: [adminAuditLog] }
      - host: api.example.test
        port: ${p.api}
        path: "/repos/**"
        protocol: rest
        access: read-write
        deny_rules:
          - { method: "*", path: "/repos/*/secrets" }
  tools:
    endpoints:
      - host: other.example.test
        port: ${p.other}
        path: /mcp
        protocol: mcp
        rules:
          - allow: { method: initialize }
          - allow: { method: tools/call, tool: search_web }
        deny_rules:
          - { method: tools/call, tool: send_email }
      - host: other.example.test
        port: ${p.other}
        path: /rpc
        protocol: json-rpc
        rules:
          - allow: { method: reports.list }
`,
);
t.teardown(() => world.close());
const agent = agentFor(world);
t.teardown(() => agent.close());

async function send(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(url, { dispatcher: agent, method: method as 'POST', headers: { 'content-type': 'application/json', ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, header: res.headers['x-sluice-error'], json: () => JSON.parse(text) as Record<string, unknown> };
}

const api = `https://api.example.test:${world.api.port}`;
const other = `https://other.example.test:${world.other.port}`;

t.test('GraphQL: operations decide, on POST bodies and GET queries; REST beside it on its own path', async (t) => {
  t.equal((await send(`${api}/graphql`, 'POST', { query: 'query { viewer { login } }' })).status, 200);
  const denied = await send(`${api}/graphql`, 'POST', { query: 'mutation { deleteRepository(id: 1) { id } }' });
  t.equal(denied.status, 403);
  t.equal(denied.json().error, 'policy_denied');
  t.equal(denied.header, 'l7_denied');
  t.match(denied.json().reason, /GraphQL operation not permitted/);
  t.equal((await send(`${api}/graphql`, 'POST', [{ query: '{ viewer { id } }' }, { query: '{ adminAuditLog { id } }' }])).status, 403, 'one denied operation denies the batch');
  t.equal((await send(`${api}/graphql?query=${encodeURIComponent('{ repository(name: "x") { id } }')}`, 'GET')).status, 200, 'GET queries are judged too');
  t.equal((await send(`${api}/graphql`, 'POST', { query: '{ viewer ' })).status, 403, 'a document that does not parse is refused');
  t.equal((await send(`${api}/repos/a/b`, 'POST', { x: 1 })).status, 200, 'REST rules apply under /repos/**');
  t.equal((await send(`${api}/users/x`, 'GET')).status, 403, 'no endpoint path selects /users');
  const seen = world.api.requests.map((r) => r.body.toString());
  t.notOk(seen.some((b) => b.includes('deleteRepository') || b.includes('adminAuditLog')), 'refused operations never reached the upstream');
});

t.test('deny rules hold under every reading of the path (issue 16 item 4)', async (t) => {
  for (const path of ['/repos/x/secrets', '/repos/x/secrets/', '/repos/x/secrets/.', '/repos/x/secrets;a', '/repos/x/SECRETS', '/repos/x/%73ecrets', '/repos/x/y/..;/secrets']) {
    t.equal((await send(`${api}${path}`, 'GET')).status, 403, path);
  }
  t.notOk(world.api.requests.some((r) => /secrets/i.test(r.url)), 'no spelling of the secret path reached the upstream');
  const res = await curl(world, ['--path-as-is', `${api}/repos/a/b;jsessionid=1/c`]);
  t.equal(res.status, 200);
  t.equal(JSON.parse(res.body).url, '/repos/a/b/c', 'the upstream receives the canonical path that was judged');
});

t.test('MCP and JSON-RPC: methods and tools decide, batches as a whole, the event stream passes', async (t) => {
  const call = (method: string, params?: unknown, id = 1) => ({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
  t.equal((await send(`${other}/mcp`, 'POST', call('tools/call', { name: 'search_web', arguments: { q: 'x' } }))).status, 200);
  t.equal((await send(`${other}/mcp`, 'POST', call('tools/call', { name: 'send_email', arguments: {} }))).status, 403);
  t.equal((await send(`${other}/mcp`, 'POST', [call('initialize', {}), call('tools/call', { name: 'delete_repo' }, 2)])).status, 403, 'one refused call refuses the batch');
  t.equal((await send(`${other}/mcp`, 'GET', undefined, { accept: 'text/event-stream' })).status, 200, 'streamable HTTP GET stream');
  t.equal((await send(`${other}/rpc`, 'POST', call('reports.list'))).status, 200);
  t.equal((await send(`${other}/rpc`, 'POST', call('reports.delete'))).status, 403);
  t.equal((await send(`${other}/rpc`, 'POST', { jsonrpc: '2.0', id: 1, result: {} })).status, 403, 'client responses are refused on JSON-RPC endpoints');
  t.notOk(world.other.requests.some((r) => /send_email|delete_repo|reports\.delete/.test(r.body.toString())), 'refused calls never reached the upstream');
});
