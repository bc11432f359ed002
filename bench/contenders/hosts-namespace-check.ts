import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { unshareMount } from './spawn-proxy.js';

const run = promisify(execFile);

/** Why peers cannot get a private /etc/hosts here (root, or unprivileged user namespaces), or undefined. */
export async function hostsNamespaceProblem(): Promise<string | undefined> {
  const [cmd, ...args] = unshareMount();
  try {
    await run(cmd!, [...args, 'true'], { timeout: 5000 });
    return undefined;
  } catch (err) {
    return `cannot give it a private /etc/hosts (${[cmd, ...args].join(' ')} failed: ${(err as Error).message.split('\n')[0]})`;
  }
}
