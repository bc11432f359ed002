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
