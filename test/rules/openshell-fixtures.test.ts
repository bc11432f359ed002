import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { compilePolicy, formatPolicyError, parsePolicy } from '../../rules/index.js';

/**
 * Every policy OpenShell accepts among those in its repository (examples, docs, e2e fixtures and
 * the policies embedded in its Rust tests, vendored under test/fixtures/openshell/accepted) loads
 * and compiles; every one it refuses (rejected/) is refused here too.
 */
const base = path.join(import.meta.dirname, '../fixtures/openshell');
const files = (dir: string) => readdirSync(path.join(base, dir)).filter((f) => f.endsWith('.yaml')).sort();

t.test('OpenShell-valid policies load', async (t) => {
  const all = files('accepted');
  let loaded = 0;
  for (const f of all) {
    const { policy, errors } = parsePolicy(readFileSync(path.join(base, 'accepted', f), 'utf8'), f);
    t.ok(policy, `${f}${errors.length ? `: ${errors.map(formatPolicyError).join(' | ')}` : ''}`);
    if (policy) {
      compilePolicy(policy);
      loaded++;
    }
  }
  t.comment(`OpenShell-valid policies that load: ${loaded}/${all.length} (${((100 * loaded) / all.length).toFixed(1)} %)`);
  t.ok(all.length >= 120, 'the corpus is there');
});

t.test('policies OpenShell refuses are refused', async (t) => {
  for (const f of files('rejected')) {
    const { policy, errors } = parsePolicy(readFileSync(path.join(base, 'rejected', f), 'utf8'), f);
    t.notOk(policy, f);
    t.ok(errors.length > 0, `${f}: ${errors[0]?.message ?? ''}`);
  }
});
