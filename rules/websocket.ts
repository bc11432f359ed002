import { allow, deny } from '../core/index.js';
import type { Decision, Destination } from '../core/index.js';
import type { CompiledEndpoint } from './endpoint.js';
import { classifyGraphqlPayload } from './graphql.js';
import type { GraphqlInfo } from './graphql.js';
import type { QueryParams } from './query.js';
import type { ClientIdentity } from './binaries.js';

/**
 * WebSocket message policy, as OpenShell applies it after an allowed upgrade (l7/websocket.rs):
 * each complete client text message is judged as a request with the synthetic method
 * `WEBSOCKET_TEXT` on the upgrade's path and query (rules with method `WEBSOCKET_TEXT` or `*`).
 * On an endpoint with GraphQL operation policy, messages are read as graphql-transport-ws /
 * graphql-ws instead: `subscribe` and `start` carry an operation judged like GraphQL over HTTP,
 * lifecycle messages (`connection_init`, `ping`, `pong`, `complete`, `stop`,
 * `connection_terminate`) pass, anything else is refused. Binary messages are relayed unjudged.
 * A refused message closes the connection (the relay's job); under `enforcement: audit` it is
 * logged and passes, except malformed GraphQL messages, which OpenShell refuses regardless.
 *
 * This is the policy side only: the relay calls `decideMessage` for every client text message.
 */
export interface WebSocketConnection {
  dest: Destination;
  /** The canonical path and decoded query of the allowed upgrade request. */
  path: string;
  query: QueryParams;
  identity?: ClientIdentity;
}

export interface WebSocketPolicy {
  /** The verdict on one client text message; `audited` when refused but only audited. */
  decideMessage(conn: WebSocketConnection, text: string): Decision;
}

const CONTROL = new Set(['connection_init', 'connection_terminate', 'ping', 'pong', 'complete', 'stop']);

type Classified = { control: string } | { type: string; graphql: GraphqlInfo };

export function classifyGraphqlWsMessage(text: string): Classified {
  const error = (type: string, message: string): Classified => ({ type, graphql: { operations: [], error: message } });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return error('unknown', `GraphQL WebSocket message is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return error('unknown', 'GraphQL WebSocket message must be a JSON object');
  const o = value as Record<string, unknown>;
  if (typeof o.type !== 'string') return error('unknown', 'GraphQL WebSocket message missing string type');
  if (o.type === 'subscribe' || o.type === 'start') {
    if (typeof o.id !== 'string' || o.id === '') return error(o.type, 'GraphQL WebSocket operation message missing non-empty id');
    if (typeof o.payload !== 'object' || o.payload === null || Array.isArray(o.payload)) return error(o.type, 'GraphQL WebSocket operation message missing object payload');
    return { type: o.type, graphql: classifyGraphqlPayload(o.payload) };
  }
  if (CONTROL.has(o.type)) return { control: o.type };
  return error(o.type, `unsupported GraphQL WebSocket client message type ${JSON.stringify(o.type)}`);
}

export function createWebSocketPolicy(matching: (dest: Destination, identity: ClientIdentity) => CompiledEndpoint[]): WebSocketPolicy {
  return {
    decideMessage(conn, text) {
      const eps = matching(conn.dest, conn.identity).filter((ep) => ep.protocol === 'websocket' && ep.selector.admits(conn.path));
      const target = `WEBSOCKET_TEXT ${conn.path} on ${conn.dest.authority}`;
      const selected = eps[0];
      if (!selected) return deny('l7_denied', `no WebSocket endpoint of the current policy covers ${target}`);
      const facts = { method: 'WEBSOCKET_TEXT', path: conn.path, query: conn.query };
      const audit = (d: Decision): Decision => (selected.audit && d.action === 'deny' ? { ...d, action: 'allow', audited: true } : d);
      const graphqlEps = eps.filter((ep) => ep.graphql?.active);
      if (graphqlEps.length > 0) {
        const msg = classifyGraphqlWsMessage(text);
        if ('control' in msg) return allow(`GraphQL WebSocket control message ${msg.control}`, { policy: selected.policy, rule: selected.label });
        if (msg.graphql.error) return deny('l7_denied', `GraphQL WebSocket message rejected: ${msg.graphql.error}`, { policy: selected.policy, rule: selected.label });
        const verdicts = graphqlEps.map((ep) => ({ ep, v: ep.graphql!.judge(msg.graphql) }));
        const denied = verdicts.find(({ v }) => v.denied);
        if (denied) return audit(deny('l7_denied', `graphql_ws_type=${msg.type} ${denied.v.reason}: ${target}`, { policy: denied.ep.policy, rule: denied.ep.label }));
        const allowed = verdicts.find(({ v }) => v.allowed);
        if (allowed) return allow(`graphql_ws_type=${msg.type} ${allowed.v.reason}`, { policy: allowed.ep.policy, rule: allowed.ep.label });
        return audit(deny('l7_denied', `graphql_ws_type=${msg.type} GraphQL operation not permitted by policy: ${target}`, { policy: selected.policy, rule: selected.label }));
      }
      for (const ep of eps) {
        const hit = ep.textDenies.find((d) => d.matches(facts));
        if (hit) return audit(deny('l7_denied', `deny rule ${hit.label} of network policy ${ep.policy} forbids ${target}`, { policy: ep.policy, rule: `${ep.label} deny ${hit.label}` }));
      }
      for (const ep of eps) {
        const hit = ep.textAllows.find((a) => a.matches(facts));
        if (hit) return allow(`network policy ${ep.policy} allows ${target} (rule ${hit.label})`, { policy: ep.policy, rule: `${ep.label} ${hit.label}` });
      }
      return audit(deny('l7_denied', `no rule of network policy ${selected.policy} allows ${target} (text messages need a WEBSOCKET_TEXT or * rule)`, { policy: selected.policy, rule: selected.label }));
    },
  };
}
