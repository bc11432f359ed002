import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why peers cannot get a private /etc/hosts here (needs root for `unshare --mount`), or undefined. */
export async function hostsNamespaceProblem(): Promise<string | undefined> {
  try {
    await run('unshare', ['--mount', 'true'], { timeout: 5000 });
    return undefined;
  } catch (err) {
    return `cannot give it a private /etc/hosts (unshare --mount failed: ${(err as Error).message.split('\n')[0]})`;
  }
}
