import { canonicalHost } from '../core/index.js';

/**
 * Endpoint `host` patterns, label-wise like OpenShell: an exact name, an IP literal, or a
 * wildcard where a whole `*` label is exactly one label, `**` (only as the whole first label) is
 * one or more labels, and the first label may hold `*` inside it (`*-api.example.com`).
 * Restrictions: no bare `*`/`**`, at least three labels, and (stricter than OpenShell, so that
 * `api.*.com` or `api.example.*` cannot reach names anyone can register) the last two labels
 * must be literal.
 */
type Label =
  | { kind: 'literal'; text: string }
  | { kind: 'star' }
  | { kind: 'globstar' }
  | { kind: 'glob'; text: string; parts: string[] };

export type HostPattern =
  | { kind: 'ip'; text: string; host: string; ipVersion: 4 | 6 }
  | { kind: 'name'; text: string; host: string; labels: Label[]; wildcard: boolean };

const PLACEHOLDER = 'x0sluicewild0x';

export function parseHostPattern(raw: string): HostPattern {
  if (raw.length === 0) throw new Error('host must not be empty');
  if (raw === '*' || raw === '**') throw new Error(`bare "${raw}" would allow every host; name the hosts or use *.example.com`);
  if (raw.includes('://') || raw.includes('/')) throw new Error(`host "${raw}" must be a host name, not a URL`);
  if (/^[^:[\]]+:[0-9]*$/.test(raw)) throw new Error(`host "${raw}" must not include a port; use port: or ports:`);
  if (!raw.includes('*')) {
    let parsed: { host: string; ipVersion: 0 | 4 | 6 };
    try {
      parsed = canonicalHost(raw);
    } catch (err) {
      throw new Error(`invalid host "${raw}": ${(err as Error).message.replace(/^invalid destination "[^"]*": /, '')}`, { cause: err });
    }
    if (parsed.ipVersion !== 0) return { kind: 'ip', text: raw, host: parsed.host, ipVersion: parsed.ipVersion };
    return { kind: 'name', text: raw, host: parsed.host, labels: literalLabels(parsed.host), wildcard: false };
  }
  const rawLabels = raw.split('.');
  if (rawLabels.length < 3) {
    throw new Error(`wildcard host "${raw}" needs at least three labels; a wildcard directly on a TLD or single label (like *.com) is not allowed`);
  }
  rawLabels.forEach((label, i) => {
    if (!label.includes('*')) return;
    if (i >= rawLabels.length - 2) throw new Error(`wildcard host "${raw}": the last two labels must be literal (like *.example.com)`);
    if (i === 0) {
      if (label.includes('**') && label !== '**') throw new Error(`wildcard host "${raw}": "**" must be the whole first label`);
      if (label !== '*' && label !== '**' && !/^[a-zA-Z0-9*_-]+$/.test(label)) {
        throw new Error(`wildcard host "${raw}": a partly wildcarded label may hold only ASCII letters, digits, "-" and "_"`);
      }
    } else if (label !== '*') {
      throw new Error(`wildcard host "${raw}": after the first label, "*" must be a whole label and "**" is not allowed`);
    }
  });
  // Canonicalise the literal labels the same way destinations are (IDNA, lowercase).
  let canonical: string;
  try {
    canonical = canonicalHost(raw.replaceAll('*', PLACEHOLDER)).host;
  } catch (err) {
    throw new Error(`invalid host "${raw}": ${(err as Error).message.replace(/^invalid destination "[^"]*": /, '')}`, { cause: err });
  }
  const host = canonical.replaceAll(PLACEHOLDER, '*');
  const labels: Label[] = host.split('.').map((label) => {
    if (label === '*') return { kind: 'star' };
    if (label === '**') return { kind: 'globstar' };
    if (label.includes('*')) return { kind: 'glob', text: label, parts: label.split('*') };
    return { kind: 'literal', text: label };
  });
  return { kind: 'name', text: raw, host, labels, wildcard: true };
}

function literalLabels(host: string): Label[] {
  return host.split('.').map((text) => ({ kind: 'literal', text }));
}

/** `*` inside one label: the parts must appear in order, anchored at both ends. */
function matchLabelGlob(parts: string[], label: string): boolean {
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (label.length < first.length + last.length || !label.startsWith(first) || !label.endsWith(last)) return false;
  let pos = first.length;
  const end = label.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = label.indexOf(parts[i]!, pos);
    if (found < 0 || found + parts[i]!.length > end) return false;
    pos = found + parts[i]!.length;
  }
  return true;
}

function labelMatches(label: Label, text: string): boolean {
  switch (label.kind) {
    case 'literal':
      return label.text === text;
    case 'star':
    case 'globstar':
      return true;
    case 'glob':
      return matchLabelGlob(label.parts, text);
  }
}

/** `host` and `ipVersion` come from a canonical Destination. */
export function hostMatches(pattern: HostPattern, host: string, ipVersion: 0 | 4 | 6): boolean {
  if (pattern.kind === 'ip') return ipVersion === pattern.ipVersion && host === pattern.host;
  if (ipVersion !== 0) return false;
  if (!pattern.wildcard) return host === pattern.host;
  const names = host.split('.');
  const labels = pattern.labels;
  const globstar = labels[0]!.kind === 'globstar';
  if (globstar ? names.length < labels.length : names.length !== labels.length) return false;
  // Compare from the right; a leading ** absorbs whatever names remain (at least one).
  for (let i = 1; i <= labels.length; i++) {
    const label = labels[labels.length - i]!;
    if (label.kind === 'globstar') return true;
    if (!labelMatches(label, names[names.length - i]!)) return false;
  }
  return true;
}

/** Why a host did or did not match, in words for `sluice explain` and near-miss lists. */
export function explainHost(pattern: HostPattern, host: string, ipVersion: 0 | 4 | 6): string {
  if (hostMatches(pattern, host, ipVersion)) return `host ${host} matches ${pattern.host}`;
  if (pattern.kind === 'ip') return `host ${host} is not the address ${pattern.host}`;
  if (ipVersion !== 0) return `${host} is an IP address; ${pattern.host} matches names only`;
  if (!pattern.wildcard) return `host ${host} is not ${pattern.host}`;
  const names = host.split('.');
  const labels = pattern.labels;
  const first = labels[0]!;
  if (first.kind === 'globstar' && names.length < labels.length) {
    return `${pattern.host} needs at least one label before ${pattern.host.slice(3)}`;
  }
  if (first.kind !== 'globstar' && names.length !== labels.length) {
    const hint = first.kind === 'star' ? ' ("*" is exactly one label; "**" is one or more)' : '';
    return `${pattern.host} matches names of ${labels.length} labels; ${host} has ${names.length}${hint}`;
  }
  return `host ${host} does not match ${pattern.host}`;
}

/**
 * The bucket a pattern or host falls in: an address, or the last two labels of a name. Wildcard
 * patterns keep their last two labels literal, so a name can only match patterns of its bucket.
 */
export function bucketOf(host: string, ipVersion: 0 | 4 | 6): string {
  if (ipVersion !== 0) return host;
  const dot = host.lastIndexOf('.', host.lastIndexOf('.') - 1);
  return dot < 0 ? host : host.slice(dot + 1);
}

export function patternBucket(pattern: HostPattern): string {
  return bucketOf(pattern.host, pattern.kind === 'ip' ? pattern.ipVersion : 0);
}

/** The literal labels after a wildcard pattern's last wildcard (`*.w1.example.org` → `w1.example.org`): an index key. */
export function literalTail(pattern: HostPattern): string {
  if (pattern.kind === 'ip' || !pattern.wildcard) return pattern.host;
  let i = pattern.labels.length;
  while (i > 0 && pattern.labels[i - 1]!.kind === 'literal') i--;
  return pattern.host.split('.').slice(i).join('.');
}

/** True when `host` shares the pattern's registrable-looking suffix (last two labels): a near miss. */
export function sharesSuffix(pattern: HostPattern, host: string): boolean {
  if (pattern.kind === 'ip') return false;
  const suffix = pattern.host.split('.').slice(-2).join('.');
  return host === suffix || host.endsWith(`.${suffix}`);
}

/** Could some name match both patterns? Used to find endpoints that must agree on tls/allowed_ips. */
export function patternsOverlap(a: HostPattern, b: HostPattern): boolean {
  if (a.kind === 'ip' || b.kind === 'ip') return a.kind === b.kind && a.host === b.host;
  if (!a.wildcard) return hostMatches(b, a.host, 0);
  if (!b.wildcard) return hostMatches(a, b.host, 0);
  const la = a.labels;
  const lb = b.labels;
  for (let i = 1; i <= Math.max(la.length, lb.length); i++) {
    const x = la[la.length - i];
    const y = lb[lb.length - i];
    if (x?.kind === 'globstar') return y !== undefined;
    if (y?.kind === 'globstar') return x !== undefined;
    if (x === undefined || y === undefined) return false;
    if (x.kind === 'literal' && y.kind === 'literal' && x.text !== y.text) return false;
    if (x.kind === 'literal' && y.kind === 'glob' && !matchLabelGlob(y.parts, x.text)) return false;
    if (y.kind === 'literal' && x.kind === 'glob' && !matchLabelGlob(x.parts, y.text)) return false;
  }
  return true;
}
