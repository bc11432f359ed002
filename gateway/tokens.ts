import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Bearer tokens for the API's TCP listener. Only a SHA-256 of each token is stored, one file per
 * token under `<home>/gateway/tokens/` (0600 in a 0700 folder): creating one is an exclusive
 * create and revoking one an unlink, so two `sluice token` commands never lose each other's
 * work, and a running gateway sees both at once (it reads the token's file on every request).
 *
 * Format: `sluice_<id>_<secret>`; the id (public, it names the token in the audit log) picks
 * the file, the 256-bit secret is what is checked.
 */
export type TokenScope = 'admin' | 'read';

export interface TokenInfo {
  id: string;
  name: string;
  scope: TokenScope;
  createdAt: string;
}

interface StoredToken extends TokenInfo {
  sha256: string;
}

const TOKEN_RE = /^sluice_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function tokensDir(home: string): string {
  return path.join(home, 'gateway', 'tokens');
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export async function createToken(home: string, scope: TokenScope, name = ''): Promise<{ token: string; info: TokenInfo }> {
  if (scope !== 'admin' && scope !== 'read') throw new Error(`scope must be admin or read, got ${JSON.stringify(scope)}`);
  const dir = tokensDir(home);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(path.dirname(dir), 0o700).catch(() => undefined);
  const id = randomBytes(6).toString('hex');
  const token = `sluice_${id}_${randomBytes(32).toString('base64url')}`;
  const info: TokenInfo = { id, name, scope, createdAt: new Date().toISOString() };
  const stored: StoredToken = { ...info, sha256: digest(token).toString('hex') };
  await fs.writeFile(path.join(dir, `${id}.json`), `${JSON.stringify(stored)}\n`, { mode: 0o600, flag: 'wx' });
  return { token, info };
}

export async function listTokens(home: string): Promise<TokenInfo[]> {
  const entries = await fs.readdir(tokensDir(home)).catch(() => [] as string[]);
  const out: TokenInfo[] = [];
  for (const entry of entries.filter((e) => /^[0-9a-f]{12}\.json$/.test(e))) {
    const stored = await readStored(home, entry.slice(0, 12));
    if (stored) out.push({ id: stored.id, name: stored.name, scope: stored.scope, createdAt: stored.createdAt });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** True when a token with that id existed and is now gone. */
export async function revokeToken(home: string, id: string): Promise<boolean> {
  if (!/^[0-9a-f]{12}$/.test(id)) return false;
  try {
    await fs.unlink(path.join(tokensDir(home), `${id}.json`));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** The token's id, name and scope when `token` is one of ours and not revoked; undefined otherwise. */
export async function verifyToken(home: string, token: string): Promise<TokenInfo | undefined> {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  const stored = await readStored(home, m[1]!);
  if (!stored) return undefined;
  const expected = Buffer.from(stored.sha256, 'hex');
  const given = digest(token);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  return { id: stored.id, name: stored.name, scope: stored.scope, createdAt: stored.createdAt };
}

async function readStored(home: string, id: string): Promise<StoredToken | undefined> {
  const file = path.join(tokensDir(home), `${id}.json`);
  let text: string;
  try {
    const st = await fs.stat(file);
    // a token file others can write could grant them a token of their choosing
    if (!st.isFile() || (st.mode & 0o022) !== 0) return undefined;
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as StoredToken;
    if (parsed.id !== id || (parsed.scope !== 'admin' && parsed.scope !== 'read') || !/^[0-9a-f]{64}$/.test(parsed.sha256)) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}
