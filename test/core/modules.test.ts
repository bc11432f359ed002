import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { crossModuleImports, deepImports, findCycle, moduleGraph } from '../helpers/module-graph.js';

// The repository root, from test/core or dist/test/core.
let root = path.dirname(fileURLToPath(import.meta.url));
while (!fs.existsSync(path.join(root, 'package.json'))) root = path.dirname(root);

const MODULES = ['core', 'app', 'proxy', 'rules', 'certs', 'audit', 'cli', 'privacy', 'redact', 'credentials', 'sandbox', 'gateway', 'bench'];
const imports = crossModuleImports(root, MODULES);
const graph = moduleGraph(imports);

t.test('every module is read (the walk finds the imports it judges)', async (t) => {
  for (const mod of MODULES) t.ok(fs.existsSync(path.join(root, mod)), `${mod}/ exists`);
  t.ok(imports.some((i) => i.from === 'app' && i.to === 'proxy'), 'app/ is seen importing proxy/');
  t.ok(imports.some((i) => i.from === 'privacy' && i.to === 'core'), 'privacy/ is seen importing core/');
});

t.test('modules import one another only through index.ts', async (t) => {
  const deep = deepImports(imports).map((i) => `${i.file} imports ${i.target}`);
  t.same(deep, [], 'no import reaches past another module\'s index.ts');
  for (const mod of MODULES.filter((m) => m !== 'cli')) t.ok(fs.existsSync(path.join(root, mod, 'index.ts')), `${mod}/index.ts exists`);
});

t.test('the module graph is acyclic', async (t) => {
  t.equal(findCycle(graph)?.join(' -> '), undefined);
});

t.test('core/ imports nothing; proxy/ (the wire) imports only core/; app/ is imported by nobody but cli/', async (t) => {
  t.same([...(graph.get('core') ?? [])], []);
  t.same([...(graph.get('proxy') ?? [])], ['core']);
  const users = imports.filter((i) => i.to === 'app').map((i) => i.from);
  t.same([...new Set(users)].filter((m) => m !== 'cli'), []);
});

t.test('the checks catch what they look for', async (t) => {
  t.same(findCycle(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])]])), ['a', 'b', 'c', 'a']);
  t.equal(findCycle(new Map([['a', new Set(['b', 'c'])], ['b', new Set(['c'])]])), undefined);
  const sample = [
    { from: 'privacy', file: 'privacy/router.ts', to: 'proxy', target: 'proxy/stage.ts' },
    { from: 'privacy', file: 'privacy/router.ts', to: 'core', target: 'core/index.ts' },
  ];
  t.same(deepImports(sample).map((i) => i.target), ['proxy/stage.ts']);
});
