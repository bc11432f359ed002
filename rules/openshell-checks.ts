import { hasGlobSyntax } from './glob.js';
import { pathGlob } from './request-matcher.js';
import type { QueryMatcher, RuleFields } from './l7-schema.js';
import { matcherPatterns } from './request-matcher.js';
import type { EndpointInput } from './schema.js';

/**
 * OpenShell's cross-field checks of one endpoint (openshell-policy validate_sandbox_policy,
 * validate_l7_endpoint_semantics and the supervisor's validate_l7_policies), with their verdicts:
 * what OpenShell refuses is an error here too, what it loads with a warning is a warning here.
 * Runs inside schema validation, so it must tolerate values that failed other checks.
 */
export type Report = (kind: 'error' | 'warning', message: string, path?: Array<string | number>) => void;

const GRAPHQL_TYPES = ['query', 'mutation', 'subscription'];
const REST_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', '*'];
const WEBSOCKET_METHODS = ['GET', 'WEBSOCKET_TEXT', '*'];

const hasGraphqlFields = (r: RuleFields) => Boolean(r.operation_type) || Boolean(r.operation_name) || r.fields !== undefined;
const hasTransportFields = (r: RuleFields) => r.method !== undefined || r.path !== undefined || r.query !== undefined;
const hasToolSelector = (r: RuleFields) => r.tool !== undefined || r.params?.name !== undefined;
const matchesToolsCall = (m: string) => m === 'tools/call' || m === '*' || (hasGlobSyntax(m) && globLike(m).test('tools/call'));

function globLike(pattern: string): RegExp {
  // Rust's glob crate (method matchers in OpenShell's MCP checks): `*` crosses `/`.
  const source = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  try {
    return new RegExp(`^${source}$`);
  } catch {
    return /^$/;
  }
}

function matcherHasWildcard(m: QueryMatcher | undefined): boolean {
  return m !== undefined && matcherPatterns(m).some(hasGlobSyntax);
}

/** Brackets and braces that do not pair up: OpenShell warns (its Rego treats them as literals or fails the match). */
export function globSyntaxProblem(pattern: string): string | undefined {
  for (const [open, close] of [['[', ']'], ['{', '}']] as const) {
    let depth = 0;
    for (const c of pattern) {
      if (c === open) depth++;
      else if (c === close && --depth < 0) return `glob pattern '${pattern}' has unmatched '${close}'`;
    }
    if (depth > 0) return `glob pattern '${pattern}' has unclosed '${open}'`;
  }
  return undefined;
}

/**
 * A rule path that could never match a canonical request path is refused: OpenShell loads it and
 * the rule silently never matches, which for a deny rule means it protects nothing.
 */
export function pathGlobProblem(glob: string): string | undefined {
  if (glob !== '**' && !glob.startsWith('/')) return `path glob must start with "/" or be "**"; got ${JSON.stringify(glob)}`;
  const segments = glob.split('/');
  if (segments.some((seg) => seg === '.' || seg === '..')) return 'path glob must not contain "." or ".." segments (request paths are compared with them resolved)';
  if (segments.slice(1, -1).some((seg) => seg === '')) return 'path glob must not contain "//" (request paths are compared with "//" collapsed)';
  try {
    pathGlob(glob);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

function checkGraphqlRule(report: Report, where: Array<string | number>, rule: { operation_type?: string | undefined; fields?: string[] | undefined }, strict: boolean): void {
  const type = rule.operation_type ?? '';
  const valid = strict ? GRAPHQL_TYPES : [...GRAPHQL_TYPES, '*'];
  if (type === '') report('error', 'operation_type: required for GraphQL L7 rules', [...where, 'operation_type']);
  else if (!valid.includes(strict ? type : type.toLowerCase())) report('error', `operation_type must be ${valid.join(', ')}; got '${type}'`, [...where, 'operation_type']);
  if (rule.fields !== undefined && rule.fields.length === 0) report('error', 'fields: list must not be empty; omit fields to match all root fields', [...where, 'fields']);
  rule.fields?.forEach((f, i) => {
    if (f === '') report('error', 'fields: field glob must not be empty', [...where, 'fields', i]);
  });
}

function checkJsonRpcRule(report: Report, where: Array<string | number>, rule: RuleFields, protocol: string, strictToolNames: boolean, allowAll: boolean): void {
  const method = rule.method ?? '';
  const pathOrQuery = Boolean(rule.path) || Object.keys(rule.query ?? {}).length > 0;
  if (protocol === 'json-rpc') {
    if (method === '') report('error', 'method: required for json-rpc L7 rules', [...where, 'method']);
    else if (method !== '*' && hasGlobSyntax(method)) report('error', 'method: generic JSON-RPC method rules do not support glob or wildcard matchers; use "*" to allow all methods or an exact method name', [...where, 'method']);
    if (rule.params !== undefined) report('error', 'JSON-RPC rules do not support params matchers yet', [...where, 'params']);
    if (rule.tool !== undefined) report('error', 'tool: MCP tool matching is only valid for protocol mcp', [...where, 'tool']);
    if (pathOrQuery) report('error', 'json-rpc L7 rules must use method, not path/query', where);
    return;
  }
  if (method !== '' && hasGlobSyntax(method) && !method.startsWith('tools/')) {
    report('error', 'method: MCP method globs are only valid for the tools/ method family; omit method to use the endpoint method profile', [...where, 'method']);
  }
  if (method === '' && !allowAll) report('error', 'method: required when mcp.allow_all_known_mcp_methods is false', [...where, 'method']);
  else if (hasToolSelector(rule) && method !== '' && method !== 'tools/call') report('error', `method: must be tools/call when an MCP rule uses tool or params.name, got '${method}'`, [...where, 'method']);
  if (rule.tool !== undefined && rule.params?.name !== undefined) report('error', 'MCP rules must use either tool or params.name, not both', where);
  if (!strictToolNames && (matcherHasWildcard(rule.tool) || matcherHasWildcard(rule.params?.name as QueryMatcher | undefined))) {
    report('error', 'wildcard tool-name matchers require mcp.strict_tool_names to remain enabled', where);
  }
  if (pathOrQuery) report('error', 'mcp L7 rules must use method/tool, not path/query', where);
}

export function checkEndpoint(ep: EndpointInput, report: Report): void {
  const protocol = ep.protocol ?? '';
  const host = (ep.host ?? '').trim();
  const ports = ep.ports ?? (ep.port !== undefined ? [ep.port] : []);
  const tcp = protocol === 'tcp';
  const inspected = protocol !== '' && !tcp;
  const jsonRpcFamily = protocol === 'json-rpc' || protocol === 'mcp';
  const allowAll = ep.mcp?.allow_all_known_mcp_methods ?? false;
  const strictToolNames = ep.mcp?.strict_tool_names ?? true;
  const rules = ep.rules ?? [];
  const denies = ep.deny_rules ?? [];
  const hasRules = rules.length > 0;
  const access = ep.access ?? '';

  if (host === '' && tcp) report('error', 'protocol tcp requires a DNS hostname; hostless allowed_ips endpoints are supported only by the forward proxy', ['host']);
  else if (host === '' && (ep.allowed_ips ?? []).length === 0) report('error', 'endpoint host must not be empty unless allowed_ips constrains a non-TCP proxy endpoint', ['host']);
  else if (tcp && /^[0-9.]+$|:/.test(host)) report('error', `protocol tcp endpoint '${host}' must use a DNS hostname, not an IP literal`, ['host']);
  else if (tcp && host.endsWith('.')) report('error', 'protocol tcp endpoint host: omit the trailing DNS root dot', ['host']);
  if (ports.length === 0) report('error', 'endpoint needs port or ports');
  if (protocol === 'mcp' && host === '') report('error', 'protocol mcp requires host; protocol alone is not a wildcard endpoint', ['host']);

  if (ep.credential_signing !== undefined && !ep.signing_service) report('error', 'credential_signing is set but signing_service is empty', ['signing_service']);
  if (ep.credential_signing !== undefined && ep.request_body_credential_rewrite) report('error', 'credential_signing and request_body_credential_rewrite are mutually exclusive', ['credential_signing']);

  // validate_l7_endpoint_semantics, in OpenShell's order.
  if (tcp && (access !== '' || hasRules || ep.deny_rules !== undefined)) report('error', 'protocol tcp does not support access, rules, or deny_rules; remove those L7 fields', ['protocol']);
  if (hasRules && access !== '') report('error', 'rules and access are mutually exclusive', ['rules']);
  if (jsonRpcFamily && access !== '') {
    report('error', protocol === 'mcp'
      ? 'protocol mcp does not support access presets; use rules/deny_rules or set mcp.allow_all_known_mcp_methods: true for an allow-all MCP policy'
      : 'protocol json-rpc does not support access presets; use explicit rules with allow.method such as "*"', ['access']);
  }
  if (protocol === 'json-rpc' && !hasRules && access === '') report('error', 'protocol json-rpc requires explicit rules with allow.method', ['protocol']);
  if (inspected && !jsonRpcFamily && !hasRules && access === '') report('error', `protocol ${protocol} requires rules or access to define allowed traffic`, ['protocol']);
  if (protocol === 'mcp' && !hasRules && access === '' && !allowAll) report('error', 'protocol mcp requires rules when mcp.allow_all_known_mcp_methods is false', ['protocol']);
  if (denies.length > 0 && !inspected) report('error', 'deny_rules require protocol (L7 inspection must be enabled)', ['deny_rules']);
  if (denies.length > 0 && protocol !== 'mcp' && !hasRules && access === '') report('error', 'deny_rules require rules or access to define the base allow set', ['deny_rules']);
  if (ep.rules !== undefined && rules.length === 0) report('error', 'rules list cannot be empty (would deny all traffic); use access: full or remove rules', ['rules']);
  if (ep.deny_rules !== undefined && denies.length === 0) report('error', 'deny_rules list cannot be empty (would have no effect); remove it if no denials are needed', ['deny_rules']);

  if (tcp) {
    const l7Only = (['enforcement', 'path', 'persisted_queries', 'graphql_persisted_queries', 'graphql_max_body_bytes', 'json_rpc', 'mcp', 'credential_signing', 'signing_service', 'signing_region', 'credential_binding'] as const).filter((k) => ep[k] !== undefined);
    for (const k of ['allow_encoded_slash', 'websocket_credential_rewrite', 'request_body_credential_rewrite'] as const) if (ep[k]) l7Only.push(k as never);
    if (l7Only.length > 0) report('error', `protocol tcp does not support L7-only fields: ${l7Only.join(', ')}; remove those fields`, ['protocol']);
  }
  if (ep.path !== undefined && ep.path !== '' && !ep.path.startsWith('/') && ep.path !== '**') report('error', `endpoint path must start with '/' or be '**', got '${ep.path}'`, ['path']);
  if (ep.path) {
    const problem = globSyntaxProblem(ep.path);
    if (problem) report('warning', problem, ['path']);
  }
  if (protocol === 'sql' && ep.enforcement === 'enforce') report('error', 'SQL enforcement requires full SQL parsing; use enforcement: audit', ['enforcement']);
  if (ep.mcp !== undefined && protocol !== 'mcp') report('error', 'mcp options are only valid for protocol mcp', ['mcp']);
  if (ep.json_rpc !== undefined && !jsonRpcFamily) report('warning', 'JSON-RPC-specific endpoint fields are ignored unless protocol is json-rpc or mcp', ['json_rpc']);
  if ((ep.persisted_queries !== undefined || ep.graphql_persisted_queries !== undefined || ep.graphql_max_body_bytes !== undefined) && protocol !== 'graphql' && protocol !== 'websocket') {
    report('warning', 'GraphQL-specific endpoint fields are ignored unless protocol is graphql or websocket');
  }
  if (ep.websocket_credential_rewrite && protocol !== 'rest' && protocol !== 'websocket') report('warning', 'websocket_credential_rewrite is ignored unless protocol is rest or websocket', ['websocket_credential_rewrite']);
  if (ep.request_body_credential_rewrite && protocol !== 'rest') report('warning', 'request_body_credential_rewrite is ignored unless protocol is rest', ['request_body_credential_rewrite']);
  if (ep.tls === 'skip' && inspected) report('warning', `tls: skip is ignored with protocol ${protocol}: Sluice intercepts the connection so that the rules hold (OpenShell cannot inspect it and breaks such connections)`, ['tls']);
  if (protocol === '' && (access !== '' || ep.rules !== undefined || ep.deny_rules !== undefined)) {
    report('warning', 'access/rules without protocol: OpenShell ignores them; Sluice enforces them as protocol: rest', ['protocol']);
  }

  for (const [key, op] of Object.entries(ep.graphql_persisted_queries ?? {})) {
    checkGraphqlRule(report, ['graphql_persisted_queries', key], op, protocol === 'graphql');
  }

  const websocketGraphql = protocol === 'websocket' && (Object.keys(ep.graphql_persisted_queries ?? {}).length > 0 || (ep.persisted_queries !== undefined && ep.persisted_queries !== 'deny') || rules.some((r) => hasGraphqlFields(r.allow)) || denies.some(hasGraphqlFields));
  const mcpToolRules = protocol === 'mcp' && rules.some((r) => hasToolSelector(r.allow));
  const everyRuleEmpty = hasRules && rules.every((r) => !r.allow.method && !r.allow.path && !r.allow.command && !r.allow.operation_type && !r.allow.operation_name && !hasToolSelector(r.allow));
  if (everyRuleEmpty && !(protocol === 'mcp' && allowAll)) report('error', 'rules would deny all traffic (no allow clause found); use access: full or add allow clauses to rules', ['rules']);

  const ruleProtocol = protocol || (hasRules || access !== '' ? 'rest' : '');
  const checkRule = (rule: RuleFields, where: Array<string | number>, deny: boolean) => {
    const graphqlFields = hasGraphqlFields(rule);
    if (ruleProtocol === 'rest' || protocol === 'websocket') {
      const methods = protocol === 'websocket' ? WEBSOCKET_METHODS : REST_METHODS;
      if (rule.method !== undefined && !methods.includes(rule.method.toUpperCase())) {
        report('warning', `unknown HTTP/WebSocket method '${rule.method}'; standard methods: ${methods.join(', ')}`, [...where, 'method']);
      }
      if (!graphqlFields && (rule.method === undefined || rule.path === undefined)) {
        report('error', `${ruleProtocol} rules need method and path (OpenShell never matches a rule without them)`, where);
      }
    }
    if (rule.path !== undefined) {
      const problem = pathGlobProblem(rule.path);
      if (problem) report('error', problem, [...where, 'path']);
    }
    if (rule.command !== undefined && protocol === 'rest') report('warning', 'command is for SQL protocol, not REST', [...where, 'command']);
    if (jsonRpcFamily) checkJsonRpcRule(report, where, rule, protocol, strictToolNames, allowAll);
    else {
      if (rule.tool !== undefined) report('error', 'tool: MCP tool matching is only valid for protocol mcp', [...where, 'tool']);
      if (rule.params !== undefined) report('error', 'params: params matching is only valid for protocol mcp', [...where, 'params']);
    }
    if (protocol === 'websocket' && graphqlFields && hasTransportFields(rule)) {
      report('error', `WebSocket GraphQL ${deny ? 'deny' : 'allow'} rules must not combine method/path/query with operation_type/operation_name/fields`, where);
    }
    if (!deny && websocketGraphql && rule.method?.toUpperCase() === 'WEBSOCKET_TEXT') {
      report('error', 'WebSocket endpoints with GraphQL operation policy must use operation_type/operation_name/fields rules for client messages instead of WEBSOCKET_TEXT', where);
    }
    if (protocol === 'graphql' || (protocol === 'websocket' && graphqlFields)) checkGraphqlRule(report, where, rule, protocol === 'graphql');
    else if (graphqlFields) report('warning', 'GraphQL rule fields are ignored unless protocol is graphql or websocket', where);
    if (protocol === 'sql' && rule.command === undefined) report('warning', 'SQL rules match on command; this rule has none and never matches', where);
  };
  rules.forEach((r, i) => {
    const where = ['rules', i, 'allow'];
    if (mcpToolRules && !hasToolSelector(r.allow) && (matchesToolsCall(r.allow.method ?? '') || (!r.allow.method && allowAll))) {
      report('error', 'method matcher allows every tool call and conflicts with MCP tool allow rules; add tool or params.name to narrow tools/call, or remove the tool allow rules', where);
    }
    checkRule(r.allow, where, false);
  });
  denies.forEach((r, i) => {
    const where = ['deny_rules', i];
    if (mcpToolRules && !hasToolSelector(r) && r.method !== undefined && matchesToolsCall(r.method)) {
      report('error', 'method matcher denies every tool call and conflicts with MCP tool allow rules; add tool or params.name to deny specific tools, or remove the tool allow rules', where);
    }
    checkRule(r, where, true);
  });
}
