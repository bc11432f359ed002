import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from './run-command.js';

export interface TreeEntry {
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'other';
  uid: number;
  nlink: number;
}

/**
 * Every entry of a directory tree, the root included, by lstat: a symlink is an entry, never a
 * way elsewhere, and a directory on another file system (a mount inside the tree) is listed but
 * not entered.
 */
export async function walkTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const rootStat = await lstat(root);
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop() as string;
    const st = await lstat(p).catch(() => undefined);
    if (!st) continue;
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
    out.push({ path: p, kind, uid: st.uid, nlink: st.nlink });
    if (kind !== 'dir' || st.dev !== rootStat.dev) continue;
    for (const name of await readdir(p).catch(() => [] as string[])) stack.push(path.join(p, name));
  }
  return out;
}

export interface PathAcl {
  /** uids with a named entry, access or default */
  users: Set<number>;
  /** any named group entry */
  groups: boolean;
  hasDefault: boolean;
}

/** The paths under `root` (or `root` alone) that carry extended ACL entries, symlinks not followed. */
export async function listAcls(root: string, recursive = true): Promise<Map<string, PathAcl>> {
  const { stdout } = await runCommand('/usr/bin/getfacl', ['-P', '-n', '--skip-base', '--absolute-names', ...(recursive ? ['-R'] : []), '--', root], { timeoutMs: 120_000 });
  return parseGetfacl(stdout);
}

export function parseGetfacl(text: string): Map<string, PathAcl> {
  const out = new Map<string, PathAcl>();
  let current: PathAcl | undefined;
  for (const line of text.split('\n')) {
    const file = /^# file: (.*)$/.exec(line);
    if (file) {
      current = { users: new Set(), groups: false, hasDefault: false };
      out.set(unescapeName(file[1] as string), current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith('default:')) current.hasDefault = true;
    const named = /^(?:default:)?user:(\d+):/.exec(line);
    if (named) current.users.add(Number(named[1]));
    if (/^(?:default:)?group:[^:]+:/.test(line)) current.groups = true;
  }
  return out;
}

/** getfacl writes a name's backslashes, newlines and other unprintable bytes as \ooo. */
function unescapeName(name: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(name, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else {
      bytes.push(raw[i] as number);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
