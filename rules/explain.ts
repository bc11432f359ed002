import { deny, isSluiceError, makeDestination } from '../core/index.js';
import type { Decision, Destination } from '../core/index.js';
import { sharesSuffix } from './host-pattern.js';
import { canonicalPath } from './path.js';
import { parseQuery } from './query.js';
import type { CompiledPolicy } from './compile.js';

const MAX_NEAR_MISSES = 12;

/** Splits an absolute URL by hand: `new URL()` would resolve dot-segments and re-encode the path. */
function splitUrl(url: string): { scheme: 'http' | 'https'; authority: string; path: string; query: string } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/.exec(url.trim());
  if (!m) throw new Error(`"${url}" is not an absolute http(s) URL`);
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new Error(`unsupported scheme "${scheme}" (use http or https)`);
  return { scheme, authority: m[2]!, path: m[3] || '/', query: m[4] ?? '' };
}

function destinationOf(scheme: 'http' | 'https', authority: string): Destination {
  const parsed = new URL(`${scheme}://${authority}/`);
  const port = parsed.port === '' ? (scheme === 'https' ? 443 : 80) : Number(parsed.port);
  return makeDestination(parsed.hostname, port);
}

function describe(decision: Decision): string[] {
  const verdict = decision.audited ? 'ALLOW (audit: would deny)' : decision.action.toUpperCase();
  const lines = [`${verdict} ${decision.code}: ${decision.reason}`];
  if (decision.policy) lines.push(`  policy: ${decision.policy}`);
  if (decision.rule) lines.push(`  rule:   ${decision.rule}`);
  if (decision.remedy && (decision.action === 'deny' || decision.audited)) {
    lines.push(`  fix:    ${decision.remedy.summary}`);
    if (decision.remedy.yaml) lines.push(...decision.remedy.yaml.split('\n').map((l) => `          ${l}`));
  }
  return lines;
}

/** The rules that nearly matched, each with the reason it did not, so a user sees what to change. */
function nearMisses(compiled: CompiledPolicy, dest: Destination, method: string, rawPath: string, query: string, decision: Decision): string[] {
  // Once a request is allowed, the other rules that did not match are noise, not near misses.
  const showRules = decision.action === 'deny' || decision.audited === true;
  // Other hosts are near misses only when no endpoint took this host and port at all.
  const showHosts = decision.code === 'policy_denied';
  const out: string[] = [];
  for (const ep of compiled.endpoints) {
    const who = `${ep.policy} ${ep.label}`;
    if (!ep.hostMatches(dest)) {
      if (showHosts && ep.pattern && sharesSuffix(ep.pattern, dest.host)) out.push(`${who}: ${ep.explainHost(dest)}`);
      continue;
    }
    if (!ep.portMatches(dest.port)) {
      out.push(`${who}: ${ep.explainPort(dest.port)}`);
      continue;
    }
    if (!ep.inspect || !showRules) continue;
    let path: string;
    let params: ReturnType<typeof parseQuery>;
    try {
      path = canonicalPath(rawPath, { allowEncodedSlash: ep.allowEncodedSlash });
      params = parseQuery(query);
    } catch (err) {
      if (!isSluiceError(err)) throw err;
      continue; // the decision already says why the path is refused
    }
    if (!ep.selector.admits(path)) {
      out.push(`${who}: endpoint path ${ep.selector.text} does not cover ${path}`);
      continue;
    }
    const req = { method, path, query: params };
    for (const rule of ep.allows) {
      const label = `${ep.label} ${rule.label}`;
      if (label !== decision.rule && !rule.matches(req)) out.push(`${ep.policy} ${label}: ${rule.explain(req)}`);
    }
  }
  return out;
}

export function explainUrl(compiled: CompiledPolicy, method: string, url: string): { decision: Decision; lines: string[] } {
  let parts: ReturnType<typeof splitUrl>;
  let dest: Destination;
  try {
    parts = splitUrl(url);
    dest = destinationOf(parts.scheme, parts.authority);
  } catch (err) {
    const decision = deny('bad_request', `cannot explain ${method} ${url}: ${(err as Error).message}`);
    return { decision, lines: describe(decision) };
  }
  const lines: string[] = [];
  const connect = compiled.decideConnect(dest);
  let decision: Decision = connect;
  if (connect.action === 'deny') {
    lines.push(...describe(connect));
  } else if (parts.scheme === 'https' && connect.endpoint?.tlsSkip) {
    lines.push(...describe(connect), '  requests are not inspected: the connection is tunneled raw (tls: skip or protocol: tcp)');
  } else {
    const request = compiled.decideRequest(dest, method, parts.path, parts.query);
    decision = request;
    lines.push(...describe(request));
    if (request.body) lines.push(`  the ${request.body.kind} request body decides (operations, methods, tools); rules listed below`);
    if (request.path !== undefined && request.path !== parts.path) lines.push(`  path:   ${request.path} (canonical form of ${parts.path})`);
  }
  const misses = nearMisses(compiled, dest, method, parts.path, parts.query, decision);
  if (misses.length > 0) {
    lines.push('near misses:');
    for (const miss of misses.slice(0, MAX_NEAR_MISSES)) lines.push(`  - ${miss}`);
    if (misses.length > MAX_NEAR_MISSES) lines.push(`  … and ${misses.length - MAX_NEAR_MISSES} more`);
  }
  return { decision, lines };
}
