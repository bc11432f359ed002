import type { Test } from 'tap';
import type { RecordedRequest, ReplyScript } from '../fakes/index.js';
import type { CopilotRun } from './copilot-world.js';
import { GITHUB_TOKEN, PRIVATE_EMAIL } from './copilot-world.js';
import { PERSONAL } from './harness.js';
import type { Task } from './scripts.js';

type Script = (task: Task, req: RecordedRequest) => ReplyScript;

/** An agent turn's usual proof: exit 0, the file its own tool wrote, the final answer, a second call carrying the tool result. */
export function checkTurnFiles(t: Test, r: Pick<CopilotRun, 'code' | 'stdout' | 'stderr' | 'task' | 'written' | 'answered'>, script: Script): void {
  const tail = `\n--- stdout\n${r.stdout.slice(-1500)}\n--- stderr\n${r.stderr.slice(-3000)}`;
  t.equal(r.code, 0, `exited 0${r.code === 0 ? '' : tail}`);
  t.equal(r.written, r.task.content, "the agent's own tool wrote the file");
  t.match(r.stdout, r.task.answer, 'printed the final answer');
  const turns = r.answered.requests.filter((q) => q.method === 'POST');
  t.ok(turns.some((q) => script(r.task, q).text === r.task.answer), 'asked again with the tool result');
}

/**
 * What one Copilot client turn must show, beyond an agent turn's usual proof (exit 0, the file its
 * own tool wrote, the final answer, a second call carrying the tool result): in the local world
 * not one request reached the hosted GitHub or Copilot, in the hosted one the session and the calls
 * reached it with the real GitHub token; the token is never in the client's output or the audit
 * log; with redaction the private address never reaches whoever answers; with `personal` (a task
 * carrying PERSONAL, `redact: all`) neither the e-mail address nor the AWS key does, though the
 * file holds both.
 */
export function checkCopilotTurn(t: Test, r: Omit<CopilotRun, 'sluice'>, script: Script, opts: { hosted: boolean; redact?: boolean; personal?: boolean }): void {
  checkTurnFiles(t, r, script);
  const turns = r.answered.requests.filter((q) => q.method === 'POST');
  if (opts.hosted) {
    t.ok(r.hosted.requests.some((q) => q.path.startsWith('/copilot_internal/') && q.headers.authorization?.endsWith(GITHUB_TOKEN)), 'the session reached the hosted service with the real token');
  } else {
    t.same(r.hosted.requests.map((q) => `${q.method} ${q.path}`), [], 'nothing reached the hosted GitHub or Copilot');
    t.ok(r.audit.some((e) => JSON.stringify(e).includes('/copilot_internal/')), 'the session was answered by Sluice (audited)');
  }
  t.notOk(`${r.stdout}${r.stderr}`.includes(GITHUB_TOKEN), 'the real token is not in what the agent saw');
  t.notOk(JSON.stringify(r.audit).includes(GITHUB_TOKEN), 'nor in the audit log');
  if (opts.redact) {
    t.ok(turns.length > 0, 'calls were made');
    t.notOk(turns.some((q) => q.raw.includes(PRIVATE_EMAIL)), 'the private address never left Sluice');
  }
  if (opts.personal) {
    const wire = r.answered.requests.map((q) => q.raw).join('\n');
    t.notOk(wire.includes(PERSONAL.email), 'the provider never saw the e-mail address');
    t.notOk(wire.includes(PERSONAL.awsKey), 'nor the AWS key');
    t.ok(turns.some((q) => /containing exactly/.test(q.raw)), 'the provider did get the prompt, pseudonymised');
  }
}
