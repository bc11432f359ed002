import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../../core/index.js';
import { parseCommandLine } from '../../cli/args.js';
import { COMMANDS } from '../../cli/commands.js';
import { DEFAULT_POLICY_YAML } from '../../rules/index.js';

// The README is what a new user follows: its error table, its prerequisites and its commands are
// held to the code here, so that they cannot drift apart.
let root = path.dirname(fileURLToPath(import.meta.url));
while (!fs.existsSync(path.join(root, 'package.json'))) root = path.dirname(root);
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

t.test('the error-code table lists every code of core/errors.ts with its status and body code, and no other', async (t) => {
  const start = readme.indexOf('<!-- error-codes:start -->');
  const end = readme.indexOf('<!-- error-codes:end -->');
  t.ok(start >= 0 && end > start, 'the table is marked');
  const rows = readme
    .slice(start, end)
    .split('\n')
    .map((line) => /^\| `([a-z0-9_]+)` \| (\d{3}) \| `([a-z0-9_]+)` \| (.+) \|$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ code: m[1]!, status: Number(m[2]), body: m[3]!, meaning: m[4]!.trim() }));
  const table = Object.fromEntries(rows.map((r) => [r.code, `${r.status} ${r.body}`]));
  const entries: Array<{ wire: string; status: number; error?: string }> = Object.values(ERROR_CODES);
  const codes = Object.fromEntries(entries.map((c) => [c.wire, `${c.status} ${c.error ?? c.wire}`]));
  t.same(table, codes, 'the same codes with the same statuses and body codes');
  t.equal(rows.length, Object.keys(codes).length, 'each once');
  for (const r of rows) t.ok(r.meaning.length > 10, `${r.code} says what it means`);
});

t.test('the prerequisites line installs every package `sluice run`, `npm install` and the tests need', async (t) => {
  const line = readme.split('\n').find((l) => l.startsWith('apt-get update && apt-get install -y'));
  t.ok(line, 'one apt-get line');
  const packages = new Set(line!.split(/\s+/).filter((w) => /^[a-z0-9][a-z0-9+.-]+$/.test(w)));
  for (const pkg of ['bubblewrap', 'nftables', 'iproute2', 'util-linux', 'acl', 'docker.io', 'python3', 'make', 'g++', 'curl', 'ca-certificates', 'chromium']) t.ok(packages.has(pkg), `installs ${pkg}`);
  const ci = fs.readFileSync(path.join(root, '.ci', 'run'), 'utf8');
  for (const pkg of ['bubblewrap', 'nftables', 'iproute2', 'acl', 'docker.io', 'python3', 'make', 'g++', 'chromium']) t.match(ci, new RegExp(`(^|\\s)${pkg.replace(/[.+]/g, '\\$&')}(\\s|$)`, 'm'), `CI installs ${pkg} as well`);
});

t.test('every ./bin/sluice command in the README parses as written', async (t) => {
  const blocks = [...readme.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const commands = blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l.startsWith('./bin/sluice '));
  t.ok(commands.length >= 8, `found ${commands.length} commands`);
  for (const command of commands) {
    for (const part of command.split(/;\s*/)) {
      const words = part.replace(/^\.\/bin\/sluice\s+/, '').match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
      const cut = words.findIndex((w) => w === '>' || w === '|');
      const args = (cut >= 0 ? words.slice(0, cut) : words).map((w) => w.replace(/^(['"])(.*)\1$/, '$2'));
      t.doesNotThrow(() => parseCommandLine(args, COMMANDS), part);
      t.ok(parseCommandLine(args, COMMANDS).invocation, `${part} names a command`);
    }
  }
});

t.test('examples use example hosts, never package-registry hosts', async (t) => {
  const registries = /registry\.npmjs\.org|pypi\.org|pythonhosted\.org|crates\.io|proxy\.golang\.org|deb\.debian\.org|rubygems\.org|repo1\.maven\.org/;
  t.notMatch(readme, registries, 'the README');
  t.notMatch(DEFAULT_POLICY_YAML, registries, 'the embedded default policy');
  t.match(readme, /# yaml-language-server: \$schema=\.\/policy\.schema\.json/, 'the editor modeline is documented');
});
