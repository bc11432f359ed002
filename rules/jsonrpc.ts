import { compileDotGlob } from './glob.js';
import type { Glob } from './glob.js';
import { matcherPatterns } from './request-matcher.js';
import type { QueryMatcher, RuleFields } from './l7-schema.js';
import type { Endpoint } from './schema.js';

/**
 * JSON-RPC and MCP (streamable HTTP) request policy, as OpenShell has it (l7/jsonrpc.rs and its
 * Rego): a POST body is one message or a batch; each call is judged on its method (exact for
 * JSON-RPC, `*` allowing all; globs within `tools/` for MCP) and, for MCP `tools/call`, on the
 * tool name (`tool` or `params.name`). One call that is not allowed, or that a deny rule matches,
 * refuses the whole batch. Client-sent responses are refused on JSON-RPC endpoints and allowed on
 * MCP ones (answers to server requests such as elicitation); an empty GET that accepts
 * `text/event-stream` is MCP's receive stream and passes once the endpoint matched.
 */
export const DEFAULT_JSONRPC_MAX_BODY = 64 * 1024;
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export interface JsonRpcCall {
  method: string;
  tool?: string;
}

export interface JsonRpcInfo {
  calls: JsonRpcCall[];
  batch: boolean;
  hasResponse: boolean;
  receiveStream: boolean;
  error?: string;
}

function responseProblem(v: Record<string, unknown>): string | undefined {
  const hasResult = 'result' in v;
  const hasError = 'error' in v;
  if (hasResult && hasError) return 'JSON-RPC response includes both result and error';
  if (!('id' in v)) return 'JSON-RPC response missing id';
  const id = v.id;
  if (!(typeof id === 'string' || typeof id === 'number' || id === null)) return 'JSON-RPC response id must be string, number, or null';
  if (hasError && (typeof v.error !== 'object' || v.error === null || Array.isArray(v.error))) return 'JSON-RPC response error must be an object';
  return undefined;
}

function message(item: unknown, mcp: boolean, strictToolNames: boolean): JsonRpcCall | 'response' {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error("missing or non-string 'jsonrpc' field");
  const v = item as Record<string, unknown>;
  if (typeof v.jsonrpc !== 'string') throw new Error("missing or non-string 'jsonrpc' field");
  if (v.jsonrpc !== '2.0') throw new Error(`unsupported JSON-RPC version '${v.jsonrpc}'`);
  const hasMethod = 'method' in v;
  const response = 'result' in v || 'error' in v;
  if (hasMethod && response) throw new Error('JSON-RPC message includes both method and result/error');
  if (response) {
    const problem = responseProblem(v);
    if (problem) throw new Error(problem);
    return 'response';
  }
  if (typeof v.method !== 'string') throw new Error("missing or non-string 'method' field");
  if (!mcp) return { method: v.method };
  if ('id' in v && !(typeof v.id === 'string' || typeof v.id === 'number')) throw new Error('invalid MCP request: id must be a string or number');
  if (v.params !== undefined && (typeof v.params !== 'object' || v.params === null || Array.isArray(v.params))) throw new Error('invalid MCP request params: params must be an object');
  if (v.method !== 'tools/call' || !('id' in v)) return { method: v.method };
  const params = (v.params ?? {}) as Record<string, unknown>;
  if (typeof params.name !== 'string') throw new Error('invalid MCP request params: tools/call needs a string params.name');
  if (params.arguments !== undefined && (typeof params.arguments !== 'object' || params.arguments === null || Array.isArray(params.arguments))) {
    throw new Error('invalid MCP request params: tools/call arguments must be an object');
  }
  if (strictToolNames && !TOOL_NAME.test(params.name)) throw new Error('MCP tool name must match ^[A-Za-z0-9_.-]{1,128}$ when strict_tool_names is enabled');
  return { method: v.method, tool: params.name };
}

/** Parses a JSON-RPC-family request body (never throws: a problem is `error`). */
export function parseJsonRpcBody(body: Buffer, mcp: boolean, strictToolNames = true): JsonRpcInfo {
  const none: JsonRpcInfo = { calls: [], batch: false, hasResponse: false, receiveStream: false };
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { ...none, error: 'request body is not valid JSON' };
  }
  const batch = Array.isArray(value);
  const items: unknown[] = batch ? (value as unknown[]) : [value];
  if (batch && items.length === 0) return { ...none, batch, error: 'empty batch' };
  const info: JsonRpcInfo = { ...none, batch };
  for (const item of items) {
    try {
      const m = message(item, mcp, strictToolNames);
      if (m === 'response') info.hasResponse = true;
      else info.calls.push(m);
    } catch (err) {
      return { ...none, batch, error: batch ? `batch item invalid: ${(err as Error).message}` : (err as Error).message };
    }
  }
  return info;
}

/** MCP's streamable-HTTP receive stream: a GET without a body that accepts text/event-stream. */
export function isReceiveStream(method: string, hasBody: boolean, accept: string | undefined): boolean {
  return method.toUpperCase() === 'GET' && !hasBody && (accept ?? '').split(',').some((p) => p.split(';')[0]!.trim().toLowerCase() === 'text/event-stream');
}

interface CallRule {
  method: Glob | string;
  tool: Glob[] | undefined;
  text: string;
}

export interface JsonRpcVerdict {
  allowed: boolean;
  denied: boolean;
  reason: string;
}

export interface JsonRpcRules {
  readonly mcp: boolean;
  readonly maxBody: number;
  readonly strictToolNames: boolean;
  judge(info: JsonRpcInfo): JsonRpcVerdict;
}

function compileRule(r: RuleFields, mcp: boolean, allowAll: boolean): CallRule | undefined {
  const toolMatcher = (r.tool ?? r.params?.name) as QueryMatcher | undefined;
  let method = r.method ?? '';
  if (method === '' && mcp && allowAll) method = toolMatcher ? 'tools/call' : '*';
  if (method === '') return undefined;
  const tool = mcp && toolMatcher ? matcherPatterns(toolMatcher).map((p) => compileDotGlob(p)) : undefined;
  // JSON-RPC method names are exact (only `*` is a wildcard); MCP methods are globs.
  const m: Glob | string = mcp ? compileDotGlob(method) : method;
  return { method: m, tool, text: `${method}${toolMatcher ? ` tool ${matcherPatterns(toolMatcher).join('|')}` : ''}` };
}

export function compileJsonRpcRules(ep: Endpoint, protocol: 'json-rpc' | 'mcp'): JsonRpcRules {
  const mcp = protocol === 'mcp';
  const allowAll = ep.mcp?.allow_all_known_mcp_methods ?? false;
  const allows = (ep.rules ?? []).map((r) => compileRule(r.allow, mcp, allowAll)).filter((r): r is CallRule => r !== undefined);
  if (mcp && allowAll && (ep.rules ?? []).length === 0) allows.push({ method: compileDotGlob('*'), tool: undefined, text: 'allow_all_known_mcp_methods' });
  const denies = (ep.deny_rules ?? []).map((r) => compileRule(r, mcp, allowAll)).filter((r): r is CallRule => r !== undefined);
  // With the method profile on, tools/call is allowed by the profile unless a rule narrows tools.
  const profileAllowsMethod = (method: string) => mcp && allowAll && !(method === 'tools/call' && allows.some((r) => r.tool !== undefined));
  const hits = (r: CallRule, call: JsonRpcCall) => {
    const methodOk = typeof r.method === 'string' ? r.method === '*' || r.method === call.method : r.method.test(call.method);
    if (!methodOk) return false;
    if (!r.tool) return true;
    return call.tool !== undefined && r.tool.some((g) => g.test(call.tool!));
  };
  const describe = (c: JsonRpcCall) => `${c.method}${c.tool !== undefined ? ` (tool ${c.tool})` : ''}`;
  return {
    mcp,
    maxBody: (mcp ? ep.mcp?.max_body_bytes : ep.json_rpc?.max_body_bytes) ?? DEFAULT_JSONRPC_MAX_BODY,
    strictToolNames: ep.mcp?.strict_tool_names ?? true,
    judge(info) {
      if (info.receiveStream) {
        return mcp ? { allowed: true, denied: false, reason: 'MCP receive stream (GET text/event-stream)' } : { allowed: false, denied: false, reason: 'JSON-RPC endpoints accept POST requests only' };
      }
      if (info.error) return { allowed: false, denied: true, reason: `invalid JSON-RPC request: ${info.error}` };
      if (info.hasResponse && !mcp) return { allowed: false, denied: true, reason: 'JSON-RPC response frames are not permitted from client to server' };
      for (const call of info.calls) {
        const deny = denies.find((r) => hits(r, call));
        if (deny) return { allowed: false, denied: true, reason: `${describe(call)} blocked by deny rule ${deny.text}` };
      }
      for (const call of info.calls) {
        if (!allows.some((r) => hits(r, call)) && !profileAllowsMethod(call.method)) {
          return { allowed: false, denied: false, reason: `${describe(call)} is not permitted by policy${info.batch ? ' (one call refuses the whole batch)' : ''}` };
        }
      }
      return { allowed: info.calls.length > 0 || info.hasResponse, denied: false, reason: `${info.calls.map(describe).join(', ') || 'response frames'} allowed` };
    },
  };
}
