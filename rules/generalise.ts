/**
 * From the paths an agent requested to the fewest rule paths that admit them, widened only where
 * the requests themselves show variation: a segment that is an identifier (a number, a UUID, a
 * long hex or random-looking token) becomes `*`, since the next run will ask for another one;
 * and a folder with many different children becomes `folder/*` (or `folder/**` when the children
 * go deeper). Everything else stays literal.
 */
export interface GeneraliseOptions {
  /** Distinct children of one folder from which they are merged into a wildcard. Default 4. */
  siblings?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A segment that names one object among many: the part of a path that changes from run to run. */
export function isIdentifier(segment: string): boolean {
  if (/^\d+$/.test(segment)) return true;
  if (UUID.test(segment)) return true;
  if (/^[0-9a-f]{8,}$/i.test(segment) && /\d/.test(segment) && /[a-f]/i.test(segment)) return true;
  // Long tokens mixing letters and digits (base64url ids, short hashes with a prefix).
  return segment.length >= 20 && /^[A-Za-z0-9_-]+$/.test(segment) && /\d/.test(segment) && /[A-Za-z]/.test(segment);
}

interface Node {
  children: Map<string, Node>;
  /** A path ends here. */
  end: boolean;
}

const node = (): Node => ({ children: new Map(), end: false });

function insert(root: Node, segments: string[]): void {
  let at = root;
  for (const s of segments) {
    let next = at.children.get(s);
    if (!next) at.children.set(s, (next = node()));
    at = next;
  }
  at.end = true;
}

function depth(n: Node): number {
  let d = 0;
  for (const c of n.children.values()) d = Math.max(d, 1 + depth(c));
  return d;
}

function mergeInto(target: Node, source: Node): void {
  target.end ||= source.end;
  for (const [k, c] of source.children) {
    const existing = target.children.get(k);
    if (existing) mergeInto(existing, c);
    else target.children.set(k, c);
  }
}

function collapse(n: Node, siblings: number): void {
  const literal = [...n.children.keys()].filter((k) => k !== '*' && k !== '**');
  if (literal.length >= siblings) {
    const deep = literal.some((k) => depth(n.children.get(k)!) > 0);
    const wild = node();
    for (const k of literal) {
      mergeInto(wild, n.children.get(k)!);
      n.children.delete(k);
    }
    if (deep) {
      // Everything under the folder, at any depth: `**` ends the path.
      const star = n.children.get('**') ?? node();
      star.end = true;
      star.children.clear();
      n.children.set('**', star);
    } else {
      const existing = n.children.get('*');
      if (existing) mergeInto(existing, wild);
      else n.children.set('*', wild);
    }
  }
  for (const c of n.children.values()) collapse(c, siblings);
}

function collect(n: Node, prefix: string[], out: string[]): void {
  if (n.end) out.push(`/${prefix.join('/')}`);
  for (const [k, c] of n.children) collect(c, [...prefix, k], out);
}

/** A literal path segment as a glob: glob characters in it match only themselves (`*` → `[*]`). */
export function escapeGlob(segment: string): string {
  return segment.replace(/[*?[\]]/g, '[$&]');
}

export function generalisePaths(paths: readonly string[], opts: GeneraliseOptions = {}): string[] {
  const root = node();
  for (const p of new Set(paths)) {
    const segments = p.split('/').slice(1);
    // A trailing slash is a segment of its own (""), kept so /dir/ and /dir stay apart.
    insert(root, segments.map((s) => (isIdentifier(s) ? '*' : escapeGlob(s))));
  }
  collapse(root, opts.siblings ?? 4);
  const out: string[] = [];
  collect(root, [], out);
  // `/a/**` admits `/a/*/b`: drop what a `**` above it already covers.
  const globstars = out.filter((p) => p.endsWith('/**')).map((p) => p.slice(0, -2));
  return out.filter((p) => p.endsWith('/**') || !globstars.some((g) => p.startsWith(g) && p !== g.slice(0, -1))).sort();
}
