import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { completeWords } from '../../cli/completion.js';
import { findOnPath } from '../../sandbox/host-tools.js';
import { tempDir } from '../helpers/sluice.js';
import { runCli } from './io.js';

const exec = promisify(execFile);
const bin = path.resolve('bin', 'sluice');
const sandboxes = async () => ['sluice-alpha', 'sluice-beta'];

t.test('candidates come from the command table', async (t) => {
  t.same((await completeWords(['po'], sandboxes)).words, ['policy']);
  t.same((await completeWords(['policy', ''], sandboxes)).words, ['check', 'show', 'schema', 'suggest', 'get', 'set']);
  t.same((await completeWords(['policy', 's'], sandboxes)).words, ['show', 'schema', 'suggest', 'set']);
  t.same((await completeWords(['run', '--driver', ''], sandboxes)).words, ['bwrap', 'docker'], 'choices of an option');
  t.same(await completeWords(['run', '--policy', ''], sandboxes), { extra: 'files', words: [] }, 'files for FILE values');
  t.same(await completeWords(['--home', ''], sandboxes), { extra: 'dirs', words: [] }, 'dirs for a global DIR value');
  t.same((await completeWords(['stop', ''], sandboxes)).words, ['sluice-alpha', 'sluice-beta'], 'sandbox names for stop');
  t.same((await completeWords(['logs', '--sandbox', 'sluice-b'], sandboxes)).words, ['sluice-beta']);
  t.same((await completeWords(['completion', ''], sandboxes)).words, ['bash', 'zsh', 'fish']);
  const logsOptions = (await completeWords(['logs', '--'], sandboxes)).words;
  for (const o of ['--follow', '--denied', '--llm', '--sandbox', '--since', '--json', '--home', '--help']) t.ok(logsOptions.includes(o), `logs completes ${o}`);
  t.same((await completeWords(['run', '--', 'cu'], sandboxes)).extra, 'files', "after -- the sandboxed command's words are left to the shell");
  t.same((await completeWords(['ps', ''], sandboxes)).words, [], 'ps takes no arguments');
});

t.test('bash: the script sourced in a real bash completes through `sluice __complete`', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.symlinkSync(bin, path.join(dir, 'sluice'));
  const script = (await runCli(['completion', 'bash'])).stdout;
  fs.writeFileSync(path.join(dir, 'sluice.bash'), script);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
  delete env.NODE_OPTIONS;
  const complete = async (line: string[]) => {
    const words = line.map((w) => `'${w}'`).join(' ');
    const { stdout } = await exec('bash', ['-c', `source ${dir}/sluice.bash; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _sluice; printf '%s\\n' "\${COMPREPLY[@]}"`], { env });
    return stdout.split('\n').filter(Boolean);
  };
  t.same(await complete(['sluice', 'pol']), ['policy']);
  t.same(await complete(['sluice', 'policy', 'sc']), ['schema']);
  t.same(await complete(['sluice', 'run', '--driver', 'd']), ['docker']);
  t.same(await complete(['sluice', 'logs', '--si']), ['--since']);
  fs.writeFileSync(path.join(dir, 'policy-one.yaml'), '');
  t.same(await complete(['sluice', 'policy', 'check', `${dir}/policy-o`]), [`${dir}/policy-one.yaml`], 'files where a FILE goes');
});

for (const shell of ['zsh', 'fish'] as const) {
  const found = findOnPath(shell);
  t.test(`${shell}: the script parses`, { skip: found ? false : `${shell} is not installed` }, async (t) => {
    const script = (await runCli(['completion', shell])).stdout;
    const dir = tempDir();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, `sluice.${shell}`);
    fs.writeFileSync(file, script);
    const { stderr } = await exec(found!, ['-n', file]);
    t.equal(stderr, '', `${shell} -n finds no syntax error`);
  });
}
