import { endpointYaml, flowYaml } from '../core/index.js';
import type { Remedy } from '../core/index.js';
import type { GraphqlInfo } from './graphql.js';
import type { JsonRpcInfo } from './jsonrpc.js';
import { denyRuleRemedy } from './remedy.js';
import type { EndpointRef } from './remedy.js';

/**
 * The fix for a refusal a GraphQL, JSON-RPC or MCP endpoint made from the request body: the allow
 * rules that name exactly the operations or calls that were refused (their type and name, or
 * method and tool), or the deny rule that forbids one. Undefined where no rule is the answer: a
 * body that does not parse, a persisted query the registry lacks, a response frame.
 */
export interface BodyFacts {
  graphql?: GraphqlInfo | undefined;
  jsonRpc?: JsonRpcInfo | undefined;
}

type Rule = Record<string, string>;

/** What GraphQL's access presets stand for (rules/graphql.ts). */
const GRAPHQL_PRESETS = { 'read-only': ['query'], 'read-write': ['query', 'mutation'], full: ['*'] } as const;

function rulesFor(seen: BodyFacts): Rule[] | undefined {
  if (seen.graphql) {
    const ops = seen.graphql.operations;
    if (seen.graphql.error || ops.length === 0 || ops.some((op) => op.persisted)) return undefined;
    return ops.map((op) => ({ operation_type: op.type, ...(op.name ? { operation_name: op.name } : {}) }));
  }
  if (seen.jsonRpc) {
    const rpc = seen.jsonRpc;
    if (rpc.error || rpc.hasResponse || rpc.calls.length === 0) return undefined;
    return rpc.calls.map((call) => ({ method: call.method, ...(call.tool !== undefined ? { tool: call.tool } : {}) }));
  }
  return undefined;
}

export function bodyRemedy(ep: EndpointRef, seen: BodyFacts, reason: string): Remedy | undefined {
  const denyRule = /deny rule ([^:)]+)/.exec(reason);
  if (denyRule) return denyRuleRemedy(ep, denyRule[1]!.trim());
  const found = rulesFor(seen);
  if (!found) return undefined;
  const unique = [...new Map(found.map((r) => [flowYaml(r), r])).values()];
  const lines = unique.map((r) => `- allow: ${flowYaml(r)}`);
  const where = `endpoint ${ep.label} of network policy ${ep.policy}`;
  const access = ep.source.access;
  if (access !== undefined && seen.graphql) {
    // access and rules exclude each other: the preset becomes the rules it stands for.
    const preset = GRAPHQL_PRESETS[access].map((type) => `- allow: ${flowYaml({ operation_type: type })}`);
    return {
      summary: `on ${where}, replace access: ${access} with the rules it stands for plus ${lines.join(', ')}`,
      yaml: endpointYaml(ep.key, ep.source.host, `the endpoint that refused it (${ep.label}); remove access: ${access}`, ['rules:', ...[...preset, ...lines].map((l) => `  ${l}`)]),
    };
  }
  return {
    summary: `add ${lines.join(', ')} to the rules of ${where}`,
    yaml: endpointYaml(ep.key, ep.source.host, `the endpoint that refused it (${ep.label})`, ['rules:', '  # … the rules already there, then:', ...lines.map((l) => `  ${l}`)]),
  };
}
