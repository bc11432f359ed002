import type { Test } from 'tap';
import type { AgentSpec } from './agents.js';
import { PROVIDERS } from './agents.js';
import type { AgentRun } from './harness.js';
import { PERSONAL } from './harness.js';

/**
 * What one agent turn must show: the agent exited 0 and printed the final answer, its own tool
 * wrote the file, the fake was asked a second time with the tool's result, the real key reached
 * only the fake (the fake refuses any other), and no secret is in the agent's output or the audit log.
 */
export function checkTurn(t: Test, run: Omit<AgentRun, 'sluice'>, spec: AgentSpec): void {
  const tail = `\n--- stdout\n${run.stdout.slice(-1500)}\n--- stderr\n${run.stderr.slice(-3000)}`;
  t.equal(run.code, 0, `${spec.name} exited 0${run.code === 0 ? '' : tail}`);
  t.equal(run.written, run.expected, `${spec.name}'s tool wrote the file`);
  t.match(run.stdout, run.task.answer, `${spec.name} printed the final answer`);
  const turns = run.fake.requests.filter((r) => r.method !== 'GET');
  t.ok(turns.some((r) => run.script(run.task, r).text === run.task.answer), 'the fake was asked again with the tool result');
  const secret = PROVIDERS[spec.provider].secret;
  t.notOk(`${run.stdout}${run.stderr}`.includes(secret), 'the real key is not in what the agent saw');
  t.notOk(JSON.stringify(run.audit).includes(secret), 'nor in the audit log');
}

/** A privacy run: the turn as above, the fake never saw the e-mail address or the key, the file holds both. */
export function checkPrivateTurn(t: Test, run: Omit<AgentRun, 'sluice'>, spec: AgentSpec): void {
  checkTurn(t, run, spec);
  const wire = run.fake.requests.map((r) => r.raw).join('\n');
  t.notOk(wire.includes(PERSONAL.email), 'the provider never saw the e-mail address');
  t.notOk(wire.includes(PERSONAL.awsKey), 'nor the AWS key');
  t.ok(run.fake.requests.some((r) => /containing exactly/.test(r.raw)), 'the provider did get the prompt, pseudonymised');
}
