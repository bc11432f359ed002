import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseAuthority } from '../../core/index.js';
import { compilePolicy, formatPolicyError, parsePolicy } from '../../rules/index.js';
import type { CompiledPolicy } from '../../rules/index.js';
import { CASES } from './openshell/cases.js';
import type { Case } from './openshell/cases.js';

/**
 * OpenShell's policy-semantics cases (test/rules/openshell/cases.ts), each run through the real
 * decision code: CONNECT-level cases through decideConnect, requests through decideConnect then
 * decideRequest, with the body when the verdict depends on it. A case agrees when Sluice reaches
 * OpenShell's verdict; the rest must be deliberate differences the README's table lists.
 */
const fixtures = path.join(import.meta.dirname, '../fixtures/openshell/accepted');
const compiled = new Map<string, CompiledPolicy>();

function policyOf(source: string): CompiledPolicy {
  let c = compiled.get(source);
  if (c) return c;
  const text = source.includes('\n') ? source : readFileSync(path.join(fixtures, source), 'utf8');
  const { policy, errors } = parsePolicy(text, source.includes('\n') ? 'inline.yaml' : source);
  if (!policy) throw new Error(`policy invalid:\n${errors.map(formatPolicyError).join('\n')}`);
  c = compilePolicy(policy);
  compiled.set(source, c);
  return c;
}

function run(c: Case): 'allow' | 'deny' {
  const policy = policyOf(c.policy);
  const m = /^(https?):\/\/([^/?#]+)([^?#]*)(?:\?(.*))?$/.exec(c.url)!;
  const dest = parseAuthority(m[2]!, m[1] === 'https' ? 443 : 80);
  const identity = c.identity ? { exe: c.identity.exe, ancestors: c.identity.ancestors ?? [] } : undefined;
  const connect = policy.decideConnect(dest, identity);
  if (c.method === 'CONNECT' || connect.action === 'deny') return connect.action;
  const body = c.body === undefined ? undefined : Buffer.from(JSON.stringify(c.body));
  const decision = policy.decideRequest(dest, c.method, m[3] || '/', m[4] ?? '', {
    ...(identity ? { identity } : {}),
    hasBody: body !== undefined,
    ...(c.headers?.accept ? { accept: c.headers.accept } : {}),
  });
  const final = decision.body ? decision.body.finish(body ?? Buffer.alloc(0)) : decision;
  // OpenShell's allow_request is the policy's verdict; an audited refusal is still a refusal.
  return final.action === 'allow' && !final.audited ? 'allow' : 'deny';
}

t.test('OpenShell policy-semantics cases agree, or differ only where the README says why', async (t) => {
  let agree = 0;
  const differ: string[] = [];
  for (const c of CASES) {
    const outcome = run(c);
    if (outcome === c.expect) agree++;
    else if (c.sluice?.outcome === outcome) differ.push(`${c.from}: ${c.sluice.why}`);
    t.ok(outcome === c.expect || outcome === c.sluice?.outcome, `${c.from}: ${c.method} ${c.url} -> ${outcome} (OpenShell: ${c.expect})`);
  }
  t.comment(`OpenShell semantic cases that agree: ${agree}/${CASES.length} (${((100 * agree) / CASES.length).toFixed(1)} %); deliberate differences: ${differ.length}`);
  t.ok(agree / CASES.length >= 0.95, 'at least 95 % agree');
});
