import fs from 'node:fs';
import path from 'node:path';

/**
 * Watches the file's directory, not the file: editors and `kubectl cp`-style tools replace
 * files by rename, which a watch on the old inode would miss. Changes are debounced.
 */
export function watchFile(file: string, onChange: () => void): { close(): void } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let last = statKey(file);
  const watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
    if (name !== null && name !== base) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const key = statKey(file);
      if (key === last) return;
      last = key;
      onChange();
    }, 50);
  });
  watcher.on('error', () => undefined);
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

function statKey(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
