import t from 'tap';
import { parseQuery } from '../../rules/index.js';
import { compileYaml, dest } from './helpers.js';

/**
 * WebSocket message policy (rules/websocket.ts), the functions the relay calls per client text
 * message. Cases from OpenShell's opa.rs (l7_websocket_graphql_*) and policy-schema.mdx.
 */
const policy = compileYaml(`version: 1
network_policies:
  graphql_ws:
    endpoints:
      - host: realtime.graphql.com
        port: 443
        path: /graphql
        protocol: websocket
        enforcement: enforce
        rules:
          - allow: { method: GET, path: /graphql }
          - allow: { operation_type: query, fields: [viewer] }
          - allow: { operation_type: subscription, fields: [messageAdded] }
        deny_rules:
          - operation_type: mutation
  chat:
    endpoints:
      - host: realtime.example.com
        port: 443
        protocol: websocket
        enforcement: enforce
        rules:
          - allow: { method: GET, path: "/v1/realtime/**" }
          - allow: { method: WEBSOCKET_TEXT, path: "/v1/realtime/**" }
        deny_rules:
          - { method: WEBSOCKET_TEXT, path: "/v1/realtime/admin/**" }
  readonly:
    endpoints:
      - { host: ro.example.com, port: 443, protocol: websocket, access: read-only }
`);

const conn = (host: string, path: string, query = '') => ({ dest: dest(`${host}:443`), path, query: parseQuery(query) });
const msg = (type: string, payload?: unknown, id = '1') => JSON.stringify({ type, id, ...(payload ? { payload } : {}) });

t.test('upgrades are requests: GET on the endpoint path', async (t) => {
  const up = policy.decideRequest(dest('realtime.example.com:443'), 'GET', '/v1/realtime/room', '');
  t.equal(up.action, 'allow');
  t.same(up.websocket?.path, '/v1/realtime/room', 'an allowed upgrade carries the path frame rules judge');
  t.equal(policy.decideRequest(dest('realtime.example.com:443'), 'GET', '/other', '').action, 'deny');
  t.equal(policy.decideRequest(dest('ro.example.com:443'), 'GET', '/anything', '').action, 'allow', 'read-only admits the upgrade');
});

t.test('WEBSOCKET_TEXT rules judge client text messages on the upgrade path', async (t) => {
  t.equal(policy.websocket.decideMessage(conn('realtime.example.com', '/v1/realtime/room'), 'hello').action, 'allow');
  t.equal(policy.websocket.decideMessage(conn('realtime.example.com', '/v1/realtime/admin/x'), 'hello').action, 'deny', 'deny rule wins');
  t.equal(policy.websocket.decideMessage(conn('ro.example.com', '/anything'), 'hello').action, 'deny', 'read-only: the upgrade only, no text messages (OpenShell preset)');
});

t.test('GraphQL over WebSocket (opa.rs l7_websocket_graphql_*)', async (t) => {
  const c = conn('realtime.graphql.com', '/graphql');
  const d = (text: string) => policy.websocket.decideMessage(c, text).action;
  t.equal(d(msg('subscribe', { query: 'subscription NewMessages { messageAdded }' })), 'allow', 'l7_websocket_graphql_subscription_allowed_by_field_rule');
  t.equal(d(msg('start', { query: 'query Viewer { viewer }' })), 'allow', 'legacy graphql-ws start');
  t.equal(d(msg('subscribe', { query: 'query Admin { adminAuditLog }' })), 'deny', 'l7_websocket_graphql_unlisted_field_denied');
  t.equal(d(msg('subscribe', { query: 'mutation { viewer }' })), 'deny', 'l7_websocket_graphql_deny_rule_takes_precedence');
  t.equal(d(JSON.stringify({ type: 'connection_init', payload: { authorization: 'x' } })), 'allow', 'lifecycle messages pass');
  t.equal(d(JSON.stringify({ type: 'ping' })), 'allow');
  t.equal(d(JSON.stringify({ type: 'complete', id: '1' })), 'allow');
  t.equal(d('not json'), 'deny', 'a message that is not JSON is refused');
  t.equal(d(JSON.stringify({ type: 'subscribe', payload: { query: '{ viewer }' } })), 'deny', 'an operation without id is refused');
  t.equal(d(JSON.stringify({ type: 'next', id: '1', payload: {} })), 'deny', 'unsupported client message types are refused');
});
