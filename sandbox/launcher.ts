import { readdirSync, readFileSync } from 'node:fs';

/**
 * The first process of a bwrap sandbox, on the host: a one-line shell that sets the open-files
 * limit (soft and hard, so the command cannot raise it), writes its own pid into the sandbox's
 * cgroups and execs the rest of the argv (nsenter, setpriv, bwrap). Everything the command
 * later forks is counted from its first instruction; any failure stops it before it runs.
 */
export function launcherArgv(opts: { openFiles: number; procsFiles: string[] }): string[] {
  const script = [
    'ulimit -n "$1" || { echo "sluice: cannot set the open-files limit to $1" >&2; exit 125; }',
    'shift',
    'while [ "$1" != -- ]; do echo $$ > "$1" || { echo "sluice: cannot join cgroup $1" >&2; exit 125; }; shift; done',
    'shift',
    'exec "$@"',
  ].join('; ');
  return ['/bin/sh', '-c', script, 'sluice-launch', String(opts.openFiles), ...opts.procsFiles, '--'];
}

const O_CLOEXEC = 0o2000000;

/**
 * Descriptors this process inherited from whoever started it and would pass on to the sandbox:
 * open and without close-on-exec (Node and libuv open everything of their own close-on-exec).
 * bwrap passes every descriptor it gets into the sandbox, so an IDE's socket or a harness's
 * pipe would reach the command; the driver maps each of these to /dev/null in bwrap's place.
 */
export function inheritedDescriptors(from = 3): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fdinfo');
  } catch {
    return out;
  }
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd < from) continue;
    try {
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      // closed meanwhile (the directory's own descriptor)
    }
  }
  return out.sort((a, b) => a - b);
}
