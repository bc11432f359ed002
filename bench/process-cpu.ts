import { readFile } from 'node:fs/promises';

/**
 * CPU seconds (user + system, all threads) of a process, from /proc. On a shared machine this is
 * what a lane's work cost the proxy, whatever else ran: wall-clock rates move with the load.
 */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
