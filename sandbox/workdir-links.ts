import path from 'node:path';
import { runCommand } from './run-command.js';

export interface LeftSymlink {
  path: string;
  target: string;
}

const SHOWN = 20;

/**
 * Symlinks the sandbox created (status change after `sinceMs`, which the command cannot
 * backdate: utimensat sets mtime, never ctime) in the host directories it could write, whose
 * target lies outside those directories. Inside the sandbox such a link points into the
 * sandbox's own view; left in the workdir, it is followed later by host tools (an editor, git,
 * a backup) to the host's file of that name.
 */
export async function escapingSymlinks(roots: string[], sinceMs: number): Promise<LeftSymlink[]> {
  const found: LeftSymlink[] = [];
  const since = `@${Math.floor(sinceMs / 1000) - 1}`;
  for (const root of roots) {
    const { stdout } = await runCommand('find', [root, '-xdev', '-type', 'l', '-newerct', since, '-printf', '%p\\0%l\\0'], { timeoutMs: 60_000 });
    const parts = stdout.split('\0');
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const link = parts[i] as string;
      const target = parts[i + 1] as string;
      const resolved = path.resolve(path.dirname(link), target);
      if (!roots.some((r) => resolved === r || resolved.startsWith(`${r}/`))) found.push({ path: link, target });
    }
  }
  return found;
}

/** Names come from the sandbox: control characters would drive the user's terminal. */
function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out += code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

export function describeSymlinks(links: LeftSymlink[]): string[] {
  if (links.length === 0) return [];
  const lines = links.slice(0, SHOWN).map((l) => `  ${printable(l.path)} -> ${printable(l.target)}`);
  if (links.length > SHOWN) lines.push(`  … and ${links.length - SHOWN} more`);
  return [
    `the sandbox left ${links.length} symlink(s) pointing outside the directories it could write; host tools that follow them reach the host's files:\n${lines.join('\n')}`,
  ];
}
