import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Calls `onChange` when the policy file's content changes, however it changes: edited in place,
 * replaced by rename (editors, `kubectl cp`), or swapped under a symlink. Kubernetes mounts a
 * ConfigMap as `policy.yaml -> ..data/policy.yaml` with `..data -> ..2026_01_01_…`, and updates it
 * by pointing `..data` at a new timestamped directory: no event names policy.yaml at all. So every
 * event in the file's directory, and in the directory its resolved target lives in, triggers a
 * look at the content (debounced); only a real change reaches `onChange`.
 */
export interface PolicyWatcher {
  close(): void;
}

const DEBOUNCE_MS = 50;

export function watchPolicyFile(file: string, onChange: () => void): PolicyWatcher {
  const watchers = new Map<string, fs.FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let last = fingerprint(file);
  let closed = false;

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
  };

  function check(): void {
    if (closed) return;
    syncWatchers();
    const key = fingerprint(file);
    if (key === last) return;
    last = key;
    onChange();
  }

  /** Watches the file's directory and its target's, which moves with every ConfigMap update. */
  function syncWatchers(): void {
    const wanted = new Set([path.dirname(file)]);
    try {
      wanted.add(path.dirname(fs.realpathSync(file)));
    } catch {
      // The target is missing right now (mid-swap): the directory watch sees it come back.
    }
    for (const [dir, watcher] of watchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = fs.watch(dir, { persistent: false }, schedule);
        // A watched directory that disappears (the old ConfigMap generation) is dropped at the next look.
        watcher.on('error', () => {
          watcher.close();
          watchers.delete(dir);
          schedule();
        });
        watchers.set(dir, watcher);
      } catch {
        // Cannot watch it (gone already): the other directory's events still arrive.
      }
    }
  }

  syncWatchers();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/** What the file holds, wherever it resolves to; a hash, since a rewrite can keep size and mtime. */
function fingerprint(file: string): string {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return 'missing';
  }
}
