import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const STATE_KEY_FILE = 'credentials.key';
const KEY_BYTES = 32;

/**
 * The 32-byte key placeholders are derived from. `sluice env` and `sluice up` are separate
 * processes that must agree without talking, so the key lives in `<home>/credentials.key`.
 * Creation is write-to-temp then link(), so two processes racing on first use both end up
 * reading the same complete key.
 */
export async function loadStateKey(home: string): Promise<Buffer> {
  const file = path.join(home, STATE_KEY_FILE);
  const existing = await readKey(file);
  if (existing) return existing;
  await fs.mkdir(home, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
    try {
      await fs.link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const key = await readKey(file);
  if (!key) throw new Error(`credentials key ${file} vanished while being created`);
  return key;
}

async function readKey(file: string): Promise<Buffer | undefined> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!stat.isFile()) throw new Error(`credentials key ${file} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) {
    throw new Error(`credentials key ${file} is readable by group or others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 ${file}`);
  }
  const key = await fs.readFile(file);
  if (key.length !== KEY_BYTES) throw new Error(`credentials key ${file} is corrupt (expected ${KEY_BYTES} bytes); delete it to issue new placeholders`);
  return key;
}
