import type * as Graphql from 'graphql';
import type { DocumentNode, FragmentDefinitionNode, OperationDefinitionNode, SelectionSetNode } from 'graphql';
import { lazyModule } from '../core/index.js';
import { compileDotGlob } from './glob.js';
import type { Glob } from './glob.js';
import type { QueryParams } from './query.js';
import type { Endpoint } from './schema.js';

/**
 * GraphQL operation policy, as OpenShell has it (l7/graphql.rs and its Rego): a request (POST
 * JSON envelope or batch, GET query parameters, or a GraphQL-over-WebSocket message) is reduced to
 * its operations: type, name, root fields (through inline fragments and fragment spreads, field
 * names not aliases) and persisted-query hash or id. Every operation must be allowed by one rule;
 * one operation matching a deny rule denies the request; a hash-only operation counts only when
 * `persisted_queries: allow_registered` and the registry names it, and is then judged as the
 * registered operation. A request that cannot be classified is refused.
 */
export interface GraphqlOperation {
  type: string;
  name?: string;
  fields: string[];
  persisted: boolean;
  hash?: string;
  id?: string;
}

export interface GraphqlInfo {
  operations: GraphqlOperation[];
  error?: string;
}

export const DEFAULT_GRAPHQL_MAX_BODY = 64 * 1024;

class Invalid extends Error {}

/**
 * graphql-js (~13 MB loaded) is required on the first GraphQL request, not when Sluice starts:
 * most policies have no GraphQL rule, and an idle proxy should not carry it.
 */
const graphql = lazyModule<typeof Graphql>('graphql');

function rootFields(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, visited: Set<string>, out: Set<string>): void {
  const { Kind } = graphql();
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) out.add(sel.name.value);
    else if (sel.kind === Kind.INLINE_FRAGMENT) rootFields(sel.selectionSet, fragments, visited, out);
    else if (!visited.has(sel.name.value)) {
      visited.add(sel.name.value);
      const fragment = fragments.get(sel.name.value);
      if (fragment) rootFields(fragment.selectionSet, fragments, visited, out);
    }
  }
}

function classifyDocument(query: string, operationName: string | undefined): GraphqlOperation {
  const { Kind, parse } = graphql();
  let doc: DocumentNode;
  try {
    doc = parse(query, { maxTokens: 20_000, noLocation: true });
  } catch (err) {
    throw new Invalid(`GraphQL document parse error: ${(err as Error).message.split('\n')[0]}`);
  }
  const ops: OperationDefinitionNode[] = [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of doc.definitions) {
    if (def.kind === Kind.OPERATION_DEFINITION) ops.push(def);
    else if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  if (ops.length === 0) throw new Invalid('GraphQL document contains no executable operation');
  let selected: OperationDefinitionNode | undefined;
  if (operationName) {
    selected = ops.find((op) => op.name?.value === operationName);
    if (!selected) throw new Invalid(`GraphQL operationName ${JSON.stringify(operationName)} was not found`);
  } else if (ops.length === 1) {
    selected = ops[0];
  } else {
    throw new Invalid('GraphQL document has multiple operations but no operationName');
  }
  const fields = new Set<string>();
  rootFields(selected!.selectionSet, fragments, new Set(), fields);
  return { type: selected!.operation, ...(selected!.name ? { name: selected!.name.value } : {}), fields: [...fields].sort(), persisted: false };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function envelope(query: string | undefined, operationName: string | undefined, extensions: unknown, id: string | undefined): GraphqlOperation {
  const ext = extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
  const hash = str(ext?.persistedQuery?.sha256Hash) || undefined;
  if (query !== undefined && query.trim() !== '') {
    const op = classifyDocument(query, operationName);
    if (hash) Object.assign(op, { persisted: true, hash });
    if (id) Object.assign(op, { persisted: true, id });
    return op;
  }
  if (hash || id) return { type: '', ...(operationName ? { name: operationName } : {}), fields: [], persisted: true, ...(hash ? { hash } : {}), ...(id ? { id } : {}) };
  throw new Invalid('GraphQL request has no query document or persisted query identifier');
}

function jsonEnvelope(value: unknown): GraphqlOperation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Invalid('GraphQL batch item must be an object');
  const o = value as Record<string, unknown>;
  const id = str(o.id ?? o.documentId ?? o.queryId);
  return envelope(str(o.query), str(o.operationName), o.extensions, id);
}

function info(run: () => GraphqlOperation[]): GraphqlInfo {
  try {
    return { operations: run() };
  } catch (err) {
    if (err instanceof Invalid) return { operations: [], error: err.message };
    return { operations: [], error: `GraphQL request could not be classified: ${(err as Error).message}` };
  }
}

/** A GraphQL-over-HTTP request (GET query parameters or POST JSON body). */
export function classifyGraphqlHttp(method: string, query: QueryParams, body: Buffer | undefined): GraphqlInfo {
  return info(() => {
    const m = method.toUpperCase();
    if (m === 'GET') {
      const one = (key: string): string | undefined => {
        const values = query.get(key) ?? [];
        if (values.length > 1) throw new Invalid(`GraphQL GET parameter ${JSON.stringify(key)} must not appear more than once`);
        return values[0] || undefined;
      };
      let extensions: unknown;
      const rawExt = one('extensions');
      try {
        extensions = rawExt === undefined ? undefined : JSON.parse(rawExt);
      } catch {
        extensions = undefined;
      }
      const ids = ['id', 'documentId', 'queryId'].map((k) => [k, one(k)] as const).filter(([, v]) => v !== undefined);
      if (ids.length > 1) throw new Invalid(`GraphQL GET persisted-query id parameters ${JSON.stringify(ids[0]![0])} and ${JSON.stringify(ids[1]![0])} must not be combined`);
      return [envelope(one('query'), one('operationName'), extensions, ids[0]?.[1])];
    }
    if (m !== 'POST') throw new Invalid(`unsupported GraphQL HTTP method ${m}`);
    if (!body || body.length === 0) throw new Invalid('GraphQL POST body is empty');
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new Invalid(`GraphQL request body is not valid JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(value)) {
      if (value.length === 0) throw new Invalid('GraphQL batch request is empty');
      return value.map(jsonEnvelope);
    }
    if (typeof value === 'object' && value !== null) return [jsonEnvelope(value)];
    throw new Invalid('GraphQL JSON envelope must be an object or array');
  });
}

/** A GraphQL operation carried in a WebSocket message payload (`subscribe`/`start`). */
export function classifyGraphqlPayload(payload: unknown): GraphqlInfo {
  return info(() => [jsonEnvelope(payload)]);
}

interface OpRule {
  type: string;
  name: Glob | undefined;
  fields: Glob[];
  text: string;
}

export interface GraphqlVerdict {
  /** Every operation is allowed by a rule (and none is an unregistered hash). */
  allowed: boolean;
  /** A deny rule matches one operation. */
  denied: boolean;
  reason: string;
}

export interface GraphqlRules {
  /** True when the endpoint has GraphQL operation policy (always for protocol: graphql). */
  readonly active: boolean;
  readonly maxBody: number;
  judge(info: GraphqlInfo): GraphqlVerdict;
}

const PRESETS: Record<string, string[]> = { 'read-only': ['query'], 'read-write': ['query', 'mutation'], full: ['*'] };

function compileOpRule(r: { operation_type?: string | undefined; operation_name?: string | undefined; fields?: string[] | undefined }): OpRule {
  return {
    type: (r.operation_type ?? '').toLowerCase(),
    name: r.operation_name ? compileDotGlob(r.operation_name) : undefined,
    fields: (r.fields ?? []).map((f) => compileDotGlob(f)),
    text: `${r.operation_type}${r.operation_name ? ` ${r.operation_name}` : ''}${r.fields ? ` [${r.fields.join(', ')}]` : ''}`,
  };
}

export function compileGraphqlRules(ep: Endpoint): GraphqlRules {
  const graphql = ep.protocol === 'graphql';
  const allows: OpRule[] = graphql && ep.access ? PRESETS[ep.access]!.map((type) => compileOpRule({ operation_type: type })) : [];
  for (const { allow } of ep.rules ?? []) if (allow.operation_type) allows.push(compileOpRule(allow));
  const denies = (ep.deny_rules ?? []).filter((r) => r.operation_type).map(compileOpRule);
  const registry = ep.persisted_queries === 'allow_registered' ? new Map(Object.entries(ep.graphql_persisted_queries ?? {})) : new Map();
  const active = graphql || allows.length > 0 || denies.length > 0 || registry.size > 0 || Object.keys(ep.graphql_persisted_queries ?? {}).length > 0;

  const effective = (op: GraphqlOperation): GraphqlOperation | undefined => {
    if (!(op.persisted && op.type === '')) return op;
    const entry = registry.get(op.hash ?? op.id ?? '');
    return entry ? { type: entry.operation_type, ...(entry.operation_name ? { name: entry.operation_name } : {}), fields: entry.fields ?? [], persisted: true } : undefined;
  };
  const typeOk = (op: GraphqlOperation, r: OpRule) => r.type === '*' || op.type.toLowerCase() === r.type;
  const nameOk = (op: GraphqlOperation, r: OpRule) => !r.name || r.name.test(op.name ?? '');
  const allowFieldsOk = (op: GraphqlOperation, r: OpRule) => r.fields.length === 0 || (op.fields.length > 0 && op.fields.every((f) => r.fields.some((g) => g.test(f))));
  const denyFieldsOk = (op: GraphqlOperation, r: OpRule) => r.fields.length === 0 || op.fields.some((f) => r.fields.some((g) => g.test(f)));

  return {
    active,
    maxBody: ep.graphql_max_body_bytes ?? DEFAULT_GRAPHQL_MAX_BODY,
    judge(info) {
      if (info.error) return { allowed: false, denied: active, reason: `GraphQL request rejected: ${info.error}` };
      const ops = info.operations.map((op) => ({ op, eff: effective(op) }));
      const unregistered = ops.find(({ eff }) => eff === undefined);
      const denyHit = ops.flatMap(({ eff }) => (eff ? denies.filter((r) => typeOk(eff, r) && nameOk(eff, r) && denyFieldsOk(eff, r)).map((r) => r.text) : []))[0];
      const unallowed = ops.find(({ eff }) => eff && !allows.some((r) => typeOk(eff, r) && nameOk(eff, r) && allowFieldsOk(eff, r)));
      const allowed = ops.length > 0 && !unregistered && !unallowed;
      // A GraphQL endpoint is authoritative once its path matches: what its rules do not allow,
      // a broader REST rule on the same host must not let through.
      const denied = denyHit !== undefined || (active && !allowed);
      const reason = unregistered
        ? 'GraphQL persisted query is not registered'
        : denyHit !== undefined
          ? `GraphQL operation blocked by endpoint policy (deny rule ${denyHit})`
          : unallowed
            ? `GraphQL operation not permitted by policy (${unallowed.op.type}${unallowed.op.name ? ` ${unallowed.op.name}` : ''} [${unallowed.op.fields.join(', ')}])`
            : 'GraphQL operations allowed';
      return { allowed, denied, reason };
    },
  };
}
