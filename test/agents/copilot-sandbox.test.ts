import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createFakeOpenAI } from '../fakes/index.js';
import { tempDir } from '../helpers/sluice.js';
import { checkTurnFiles } from './copilot-check.js';
import { copilotTurn } from './scripts.js';
import type { Task } from './scripts.js';

// Copilot CLI inside `sluice run --driver bwrap`, its default provider, nothing set by hand: the
// sandbox gets the proxy, the CA and the copilot placeholder; the routes keep Copilot local, so
// Sluice is its GitHub session and a local backend its model. The sandbox sees only the host's
// system directories and its workdir, so Copilot's self-contained binary is linked into the workdir.
// The docker driver is not here: Copilot's native addons need libutil.so.1, which the image
// `sluice image build` assembles from the host's binaries does not carry (an --image with it does).
t.setTimeout(600_000);
const root = path.resolve('.');
const isRoot = process.getuid?.() === 0;

t.test('Copilot CLI in sluice run (bwrap): routed to a local model', { skip: isRoot ? false : 'needs root for network namespaces' }, async (t) => {
  const dir = tempDir('sluice-agent-');
  const home = path.join(dir, 'home');
  const work = path.join(dir, 'work');
  fs.mkdirSync(home);
  fs.mkdirSync(work);
  // The sandbox never runs as root: it runs as the workdir's owner, here nobody, who must reach it.
  fs.chmodSync(dir, 0o755);
  fs.chownSync(work, 65534, 65534);
  const binary = path.join(work, 'copilot');
  fs.linkSync(path.join(root, 'node_modules/@github/copilot-linux-x64/copilot'), binary);
  const task: Task = { file: path.join(work, 'proof.txt'), content: 'written by Copilot CLI in a sandbox', answer: 'The file is written.' };
  const local = await createFakeOpenAI({ reply: (req) => copilotTurn(task, req) });
  t.teardown(async () => {
    await local.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, `version: 1
network_policies: {}
inference:
  backends:
    local: { type: openai, url: "${local.url}" }
  routes:
    - { match: {}, backend: local, model: fake-model }
providers:
  copilot: { from: env:REAL_KEY }
`);
  const prompt = `Write the file ${task.file} containing exactly "${task.content}", then say: ${task.answer}`;
  const env: NodeJS.ProcessEnv = { ...process.env, REAL_KEY: `github_pat_${'S'.repeat(82)}` };
  delete env.NODE_OPTIONS; // tap's loaders are for test files, not for the CLI under test
  const args = ['run', '--name', `copilot-${process.pid}`, '--policy', policy, '--home', home, '--workdir', work, '--', binary, '-p', prompt, '--allow-all-tools', '--no-auto-update'];
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(path.join(root, 'bin/sluice'), args, { env, timeout: 300_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
  if (process.env.SLUICE_AGENT_LOG) fs.writeFileSync(path.join(process.env.SLUICE_AGENT_LOG, 'copilot-sandbox.json'), JSON.stringify({ local: local.requests, ...r }, null, 1));
  checkTurnFiles(t, { ...r, task, written: fs.existsSync(task.file) ? fs.readFileSync(task.file, 'utf8') : undefined, answered: local }, copilotTurn);
});
