import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { COPILOT_API_HOST, createFakeCopilot, createFakeOpenAI } from '../fakes/index.js';
import type { RecordedRequest } from '../fakes/index.js';
import { createTestCA } from '../helpers/tls.js';
import { tempDir } from '../helpers/sluice.js';
import { checkCopilotTurn } from './copilot-check.js';
import { GITHUB_TOKEN } from './copilot-world.js';
import { run } from './harness.js';
import { startProviderFront } from './provider-front.js';
import { AGENT_IMAGE, agentImage } from './sandbox-harness.js';
import { copilotTurn } from './scripts.js';
import type { Task } from './scripts.js';

// Copilot CLI inside `sluice run`, its default provider, nothing set by hand: `--mount-install`
// brings its npm tree in, the sandbox gets the proxy, the CA and the copilot placeholder. Local:
// the routes keep Copilot on this machine, so Sluice is its GitHub session and a local backend
// its model (no `providers:` entry: the placeholder is the routed provider's). Hosted: the routes
// let it out to a fake GitHub/Copilot that demands the real token, which only Sluice holds.
// Under docker its terminal addon needs libutil.so.1 and an exec HOME, which the image and the
// driver now give.
t.setTimeout(1_200_000);
const root = path.resolve('.');
const isRoot = process.getuid?.() === 0;
const only = process.env.SLUICE_AGENT_CELLS?.split(',');
const NAMES = ['api.github.com', COPILOT_API_HOST, 'api.githubcopilot.com', 'telemetry.individual.githubcopilot.com'];

for (const driver of ['bwrap', 'docker'] as const) {
  for (const mode of ['local', 'hosted'] as const) {
    const cell = `${driver}-${mode === 'local' ? 'routed' : 'hosted'}`;
    t.test(`Copilot CLI in sluice run --driver ${driver}: ${mode === 'local' ? 'routed to a local model' : 'hosted, token at the wire'}`, { skip: !isRoot ? 'needs root for network namespaces and docker' : only && !only.includes(cell) ? 'not in SLUICE_AGENT_CELLS' : false }, async (t) => {
      if (driver === 'docker') await agentImage();
      const dir = tempDir('sluice-agent-');
      const home = path.join(dir, 'home');
      const work = path.join(dir, 'work');
      fs.mkdirSync(home);
      fs.mkdirSync(work);
      fs.chmodSync(dir, 0o755);
      fs.chownSync(work, 65534, 65534);
      const task: Task = { file: path.join(work, 'proof.txt'), content: `written by Copilot CLI in a ${driver} sandbox`, answer: 'The file is written.' };
      const reply = (req: RecordedRequest) => copilotTurn(task, req);
      const local = await createFakeOpenAI({ reply });
      const hosted = await createFakeCopilot({ githubToken: GITHUB_TOKEN, reply });
      const ca = await createTestCA();
      const front = await startProviderFront(await ca.issue(NAMES), Object.fromEntries(NAMES.map((n) => [n, hosted.port])));
      t.teardown(async () => {
        await front.close();
        await Promise.all([local.close(), hosted.close()]);
        fs.rmSync(dir, { recursive: true, force: true });
      });
      const policy = path.join(dir, 'policy.yaml');
      fs.writeFileSync(policy, mode === 'local' ? `version: 1
network_policies: {}
inference:
  backends:
    local: { type: openai, url: "${local.url}" }
  routes:
    - { match: {}, backend: local, model: fake-model }
` : `version: 1
network_policies:
  copilot:
    endpoints:
      - { host: api.github.com, port: 443 }
      - { host: "*.githubcopilot.com", port: 443 }
inference:
  routes:
    - { match: {}, action: allow }
providers:
  copilot: { from: env:REAL_KEY }
`);
      const caFile = path.join(dir, 'upstream-ca.pem');
      fs.writeFileSync(caFile, ca.caPem);
      const prompt = `Write the file ${task.file} containing exactly "${task.content}", then say: ${task.answer}`;
      const args = [
        'run', '-q', '--name', `copilot-${process.pid}-${cell}`, '--policy', policy, '--home', home, '--workdir', work, '--mount-install', '--driver', driver,
        ...(driver === 'docker' ? ['--image', AGENT_IMAGE] : []),
        ...NAMES.flatMap((n) => ['--resolve', `${n}=${front.address}`]),
        '--', path.join(root, 'node_modules/.bin/copilot'), '-p', prompt, '--allow-all-tools', '--no-auto-update',
      ];
      const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', REAL_KEY: GITHUB_TOKEN, NODE_EXTRA_CA_CERTS: caFile };
      const r = await run(path.join(root, 'bin/sluice'), args, { cwd: work, env, timeoutMs: 300_000 });
      const auditFile = path.join(home, 'audit', 'audit.jsonl');
      const audit = fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
      if (process.env.SLUICE_AGENT_LOG) fs.writeFileSync(path.join(process.env.SLUICE_AGENT_LOG, `copilot-${cell}.json`), JSON.stringify({ local: local.requests, hosted: hosted.requests, ...r, audit }, null, 1));
      const written = fs.existsSync(task.file) ? fs.readFileSync(task.file, 'utf8') : undefined;
      checkCopilotTurn(t, { ...r, task, written, answered: mode === 'local' ? local : hosted, hosted, audit }, copilotTurn, { hosted: mode === 'hosted' });
    });
  }
}
