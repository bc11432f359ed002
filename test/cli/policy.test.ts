import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/sluice.js';
import { runCli } from './io.js';

t.test('policy check reports YAML, schema and reference errors in one pass', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'p.yaml');
  fs.writeFileSync(
    file,
    [
      'version: 1',
      'network_policies:',
      '  api:',
      '    endpoints:',
      '      - { host: api.example.com, port: 443, colour: red }',
      'version: 1',
      'inference:',
      '  backends:',
      '    local: { type: ollama, url: "http://127.0.0.1:11434" }',
      '  routes:',
      '    - { match: { model: "*" }, backend: nosuch }',
      '    - { match: { model: "x" }, backend: local, bogus: 2 }',
      '',
    ].join('\n'),
  );
  const res = await runCli(['policy', 'check', file]);
  t.equal(res.code, 1);
  const lines = res.stderr.trimEnd().split('\n');
  t.same(lines, [
    `${file}:5:45: unknown key "colour" in network_policies.api.endpoints[0]`,
    `${file}:6:1: YAML: Map keys must be unique`,
    `${file}:11:41: inference.routes[0].backend: unknown backend "nosuch" (known: local)`,
    `${file}:12:48: unknown key "bogus" in inference.routes[1]`,
  ], 'the duplicate key, the schema errors and the reference error, in file order');
});

t.test('policy schema: a JSON Schema editors can use', async (t) => {
  const res = await runCli(['policy', 'schema']);
  t.equal(res.code, 0);
  const schema = JSON.parse(res.stdout) as { title: string; type: string; properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
  t.equal(schema.title, 'Sluice policy');
  t.equal(schema.type, 'object');
  for (const key of ['version', 'network_policies', 'inference', 'privacy', 'providers', 'filesystem_policy', 'process']) t.ok(key in schema.properties, `describes ${key}`);
  t.same(schema.required, ['version']);
  t.equal(schema.additionalProperties, false, 'unknown keys are errors in the editor too');
});
