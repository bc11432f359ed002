import { stat } from 'node:fs/promises';
import { sha256Of } from './process-attribution.js';

/**
 * SHA-256 trust on first use of every executable that opens a connection, as OpenShell's
 * BinaryIdentityCache (identity.rs): the first time a path is seen its content's hash is pinned;
 * later, the same path with other content (a binary replaced after first use) is refused. The
 * content is read through /proc/<pid>/exe, the file the process actually runs, never the path
 * (which may name a new file by then). A file's size, times and inode are kept beside the hash,
 * so an unchanged binary is hashed once. Pins live as long as the sandbox's Sluice.
 */
export interface BinaryPins {
  /** Pins or checks the executable `pid` runs, known by `path`; throws BinaryChangedError. */
  verify(path: string, pid: number): Promise<string>;
}

export class BinaryChangedError extends Error {
  override name = 'BinaryChangedError';
}

interface Pinned {
  sha256: string;
  fingerprint: string;
}

export function createBinaryPins(opts: { procRoot?: string } = {}): BinaryPins {
  const proc = opts.procRoot ?? '/proc';
  const pins = new Map<string, Pinned>();
  return {
    async verify(path, pid) {
      const exe = `${proc}/${pid}/exe`;
      const st = await stat(exe, { bigint: true });
      const fingerprint = [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join(':');
      const known = pins.get(path);
      if (known?.fingerprint === fingerprint) return known.sha256;
      const sha256 = await sha256Of(exe);
      if (known && known.sha256 !== sha256) {
        throw new BinaryChangedError(`${path} is not the binary first seen at that path (sha256 pinned ${known.sha256.slice(0, 16)}…, now ${sha256.slice(0, 16)}…)`);
      }
      pins.set(path, { sha256, fingerprint });
      return sha256;
    },
  };
}
