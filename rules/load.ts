import { open } from 'node:fs/promises';
import { parsePolicyOffThread } from './parse-off-thread.js';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import type { z } from 'zod';
import { policySchema } from './schema.js';
import type { Policy } from './schema.js';
import { closestKey, knownKeysAt } from './suggest.js';
import { findEndpointConflicts } from './conflicts.js';
import { policyWarnings } from './warnings.js';
import type { WarningOptions } from './warnings.js';

/** One problem in a policy file, at the key or value that causes it. Lines and columns are 1-based. */
export interface PolicyError {
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface PolicyParseResult {
  /** Present only when there are no errors. */
  policy?: Policy;
  errors: PolicyError[];
  /** Features the policy asks for that Sluice does differently or not at all (see rules/warnings.ts). */
  warnings?: PolicyError[];
  /** The text parsed (loadPolicyFile), so a caller never reads the file a second time. */
  text?: string;
}

/**
 * Bounds on what one policy may hold. Real policies hold tens of endpoints; these leave room
 * for generated ones while keeping a reload cheap: the file is parsed off the event loop
 * (parse-off-thread.ts), but it is compiled on it (~0.1 s at the bounds on one core).
 */
export const POLICY_LIMITS = { bytes: 1024 * 1024, endpoints: 5000, rules: 20_000 } as const;

/** Policies longer than this (~400 endpoints) are parsed off the event loop on reload. */
const OFF_THREAD_CHARS = 64 * 1024;

export function formatPolicyError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}

type PathKey = string | number;

function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? key : `.${key}`;
  }
  return out;
}

function findPair(node: unknown, key: PathKey): Pair<unknown, unknown> | undefined {
  if (!isMap(node)) return undefined;
  return node.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === String(key));
}

/** Walks the YAML tree along a zod path; returns the deepest node found and the pair that holds it. */
function locate(doc: Document, path: readonly PathKey[]): { node: Node | null; pair?: Pair<unknown, unknown>; complete: boolean } {
  let node: unknown = doc.contents;
  let pair: Pair<unknown, unknown> | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const found = findPair(node, key);
      if (!found) return { node: node as Node, pair, complete: false };
      pair = found;
      node = found.value;
      if (node === null) return { node: found.key as Node, pair, complete: true };
    } else if (isSeq(node) && typeof key === 'number' && node.items[key] !== undefined) {
      pair = undefined;
      node = node.items[key];
    } else {
      return { node: (node ?? null) as Node | null, pair, complete: false };
    }
  }
  return { node: (node ?? null) as Node | null, pair, complete: true };
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    const names: Record<string, string> = { object: 'a mapping', record: 'a mapping', array: 'a list', int: 'an integer' };
    const expected = names[issue.expected] ?? `a ${issue.expected}`;
    return `expected ${expected}, got ${describeValue(issue.input)}`;
  }
  return issue.message;
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0]!;
  return /multiple documents/.test(first) ? 'a policy file holds one YAML document (found "---" separating several)' : first;
}

function positionOf(doc: Document, lines: LineCounter, offset: number | undefined): { line: number; col: number } {
  if (offset === undefined) return { line: 1, col: 1 };
  return lines.linePos(offset);
}

function issueErrors(doc: Document, lines: LineCounter, file: string, issue: z.core.$ZodIssue): PolicyError[] {
  const path = issue.path as PathKey[];
  const at = (offset: number | undefined, message: string): PolicyError => ({ file, ...positionOf(doc, lines, offset), message });
  if (issue.code === 'unrecognized_keys') {
    const { node } = locate(doc, path);
    const where = path.length > 0 ? ` in ${formatPath(path)}` : ' at the top level';
    const known = knownKeysAt(policySchema, path);
    return issue.keys.map((key) => {
      const pair = findPair(node, key);
      const keyNode = pair?.key as Node | undefined;
      const suggestion = closestKey(key, known);
      const hint = suggestion ? ` (did you mean "${suggestion}"?)` : '';
      return at(keyNode?.range?.[0] ?? node?.range?.[0], `unknown key "${key}"${where}${hint}`);
    });
  }
  const located = locate(doc, path);
  const label = formatPath(path);
  if (!located.complete) {
    // The offending key is absent: point at the mapping that should hold it.
    const message = issue.input === undefined
      ? `missing required key "${formatPath(path.slice(-1))}"${path.length > 1 ? ` in ${formatPath(path.slice(0, -1))}` : ''}`
      : `${label}: ${issueMessage(issue)}`;
    return [at(located.node?.range?.[0], message)];
  }
  if (issue.code === 'invalid_key') {
    const keyNode = located.pair?.key as Node | undefined;
    return [at(keyNode?.range?.[0], `${label}: invalid name: ${issue.issues[0]?.message ?? issue.message}`)];
  }
  const prefix = label === '' ? '' : `${label}: `;
  return [at(located.node?.range?.[0], `${prefix}${issueMessage(issue)}`)];
}

/** Parses and validates policy text; reports every error, never just the first. `file` labels the errors. */
export function parsePolicy(text: string, file: string, opts: WarningOptions = {}): PolicyParseResult {
  const bytes = Buffer.byteLength(text);
  if (bytes > POLICY_LIMITS.bytes) return { errors: [tooLarge(file, bytes)] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  // Warnings (unresolved tags and the like) are errors too: a policy must mean exactly what it says.
  const problems = [...doc.errors, ...doc.warnings];
  const yamlErrors: PolicyError[] = problems.map((err) => ({
    file,
    ...positionOf(doc, lines, err.pos[0]),
    message: `YAML: ${yamlMessage(err.message)}`,
  }));
  // A duplicate key leaves a sound tree: go on, so that one run reports the schema and reference
  // errors too. A syntax error or an unresolved tag does not: what follows would be guesswork
  // (an untagged `!foo 1` is the string "1", which the schema would call wrong for the wrong reason).
  if (doc.warnings.length > 0 || doc.errors.some((err) => err.code !== 'DUPLICATE_KEY')) return { errors: sorted(yamlErrors) };
  const complexKeys: PolicyError[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key)) complexKeys.push({ file, ...positionOf(doc, lines, (pair.key as Node | null)?.range?.[0]), message: 'YAML: keys must be plain strings' });
    },
  });
  if (complexKeys.length > 0) return { errors: sorted([...yamlErrors, ...complexKeys]) };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { errors: sorted([...yamlErrors, { file, line: 1, col: 1, message: `YAML: ${(err as Error).message}` }]) };
  }
  if (data === null || data === undefined) {
    return { errors: sorted([...yamlErrors, { file, line: 1, col: 1, message: 'policy file is empty; it needs at least "version: 1"' }]) };
  }
  // OpenShell reads an empty `network_policies:` as no policies.
  if (typeof data === 'object' && data !== null && 'network_policies' in data && (data as Record<string, unknown>).network_policies === null) {
    (data as Record<string, unknown>).network_policies = {};
  }
  // Counted before validation, which costs time in proportion to them.
  const crowded = overBounds(data);
  if (crowded) return { errors: [{ file, line: 1, col: 1, message: crowded }] };
  const result = policySchema.safeParse(data, { reportInput: true });
  if (result.success && yamlErrors.length === 0) {
    const warnings = policyWarnings(result.data, opts).map((w) => {
      const located = locate(doc, w.path);
      return { file, ...positionOf(doc, lines, (located.pair?.key as Node | undefined)?.range?.[0] ?? located.node?.range?.[0]), message: `warning: ${formatPath(w.path)}: ${w.message}` };
    });
    return { policy: result.data, errors: [], warnings };
  }
  const issues = result.success ? [] : [...result.error.issues];
  // Cross-references are refinements, which zod skips where a value already failed its schema:
  // look them up on the raw data as well, so no error hides another.
  if (!result.success) for (const issue of referenceIssues(data)) if (!issues.some((i) => samePath(i.path, issue.path) && i.message === issue.message)) issues.push(issue);
  const errors = [...yamlErrors, ...issues.flatMap((issue) => issueErrors(doc, lines, file, issue))];
  return { errors: sorted(dedupe(errors)) };
}

function sorted(errors: PolicyError[]): PolicyError[] {
  return errors.sort((a, b) => a.line - b.line || a.col - b.col);
}

function dedupe(errors: PolicyError[]): PolicyError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.line}:${e.col}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function samePath(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  return a.length === b.length && a.every((k, i) => String(k) === String(b[i]));
}

/** References checked on raw data, tolerant of anything malformed: routes → backends, overlapping endpoints. */
function referenceIssues(data: unknown): z.core.$ZodIssue[] {
  const issues: z.core.$ZodIssue[] = [];
  const add = (path: PathKey[], message: string) => issues.push({ code: 'custom', path, message, input: undefined } as unknown as z.core.$ZodIssue);
  const root = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  const inference = typeof root.inference === 'object' && root.inference !== null ? (root.inference as Record<string, unknown>) : undefined;
  const backends = typeof inference?.backends === 'object' && inference.backends !== null ? Object.keys(inference.backends) : [];
  if (Array.isArray(inference?.routes)) {
    inference.routes.forEach((route: unknown, i) => {
      if (typeof route !== 'object' || route === null) return;
      for (const key of ['backend', 'fallback'] as const) {
        const name = (route as Record<string, unknown>)[key];
        if (typeof name === 'string' && !backends.includes(name)) {
          add(['inference', 'routes', i, key], `unknown backend "${name}"${backends.length ? ` (known: ${backends.join(', ')})` : ' (no backends defined)'}`);
        }
      }
    });
  }
  for (const conflict of findEndpointConflicts(root.network_policies)) add(['network_policies', ...conflict.path], conflict.message);
  return issues;
}

function tooLarge(file: string, bytes: number): PolicyError {
  return { file, line: 1, col: 1, message: `policy file is ${bytes > POLICY_LIMITS.bytes + 1 ? `${bytes} bytes` : 'larger than that'}; Sluice reads policies of at most ${POLICY_LIMITS.bytes} bytes (1 MiB)` };
}

/** Endpoints and L7 rules over POLICY_LIMITS, in words; undefined within them. */
function overBounds(data: unknown): string | undefined {
  const policies = (data as { network_policies?: unknown }).network_policies;
  if (policies === null || typeof policies !== 'object') return undefined;
  let endpoints = 0;
  let rules = 0;
  for (const policy of Object.values(policies as Record<string, unknown>)) {
    const list = (policy as { endpoints?: unknown } | null)?.endpoints;
    if (!Array.isArray(list)) continue;
    endpoints += list.length;
    for (const ep of list as Array<{ rules?: unknown; deny_rules?: unknown } | null>) {
      rules += (Array.isArray(ep?.rules) ? ep.rules.length : 0) + (Array.isArray(ep?.deny_rules) ? ep.deny_rules.length : 0);
    }
  }
  if (endpoints > POLICY_LIMITS.endpoints) return `policy has ${endpoints} endpoints; Sluice loads at most ${POLICY_LIMITS.endpoints} (merge hosts with wildcards)`;
  if (rules > POLICY_LIMITS.rules) return `policy has ${rules} rules and deny_rules; Sluice loads at most ${POLICY_LIMITS.rules}`;
  return undefined;
}

/**
 * Reads a policy file, at most POLICY_LIMITS.bytes of it, and parses it (off the event loop with
 * `offThread`, as reloads do). A read failure is reported as an error, never thrown.
 */
export async function loadPolicyFile(path: string, opts: WarningOptions & { offThread?: boolean } = {}): Promise<PolicyParseResult> {
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      // One byte past the bound is enough to know the file is too large, whatever it is.
      const buf = Buffer.alloc(POLICY_LIMITS.bytes + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > POLICY_LIMITS.bytes) return { errors: [tooLarge(path, (await handle.stat()).size)] };
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    return { errors: [{ file: path, line: 1, col: 1, message: `cannot read policy file: ${(err as Error).message}` }] };
  }
  const { offThread, ...warningOpts } = opts;
  // A small policy parses in a few milliseconds, less than a worker takes to start.
  const parsed = offThread && text.length > OFF_THREAD_CHARS ? await parsePolicyOffThread(text, path, warningOpts) : parsePolicy(text, path, warningOpts);
  return { ...parsed, text };
}
