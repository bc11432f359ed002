import type * as Diff from 'diff';
import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from 'yaml';
import type { Document } from 'yaml';
import { flowYaml, lazyModule } from '../core/index.js';
import { presetRules } from './remedy.js';
import type { AccessPreset } from './request-matcher.js';
import type { Plan } from './advisor.js';

/**
 * Applies an advisor plan to the policy text through the YAML tree, so comments and the rest of
 * the file survive, and then back onto the original text hunk by hunk, so the only lines that
 * change are the ones the plan touches (the YAML printer would also re-space comments and lists).
 */
type Rule = { method: string; path: string };

// Loaded when a plan is applied: a gateway at rest does not carry jsdiff (31 modules).
const diff = lazyModule<typeof Diff>('diff');

function ruleNode(doc: Document, rule: Rule): YAMLMap {
  const node = doc.createNode({ allow: { method: rule.method, path: rule.path } }) as YAMLMap;
  (node.get('allow', true) as unknown as YAMLMap).flow = true;
  return node;
}

function endpointNode(doc: Document, key: string, index: number): YAMLMap {
  const node = doc.getIn(['network_policies', key, 'endpoints', index], true);
  if (!isMap(node)) throw new Error(`network_policies.${key}.endpoints[${index}] is not a mapping in the file`);
  return node as YAMLMap;
}

export function applyPlan(text: string, plan: Plan): { after: string; changes: string[] } {
  const doc = parseDocument(text, { keepSourceTokens: false });
  const changes: string[] = [];

  for (const add of plan.addRules) {
    const ep = endpointNode(doc, add.key, add.index);
    const access = ep.get('access') as AccessPreset | undefined;
    let rules: unknown = ep.get('rules', true);
    if (access !== undefined) {
      // access and rules cannot be combined: the preset becomes the rules it stands for.
      ep.delete('access');
      const preset = new YAMLSeq();
      for (const r of presetRules(access)) preset.add(ruleNode(doc, r.allow));
      ep.set('rules', preset);
      rules = preset;
      changes.push(`endpoint ${add.label} (network policy ${add.policy}): access: ${access} replaced by the rules it stands for`);
    }
    if (!isSeq(rules)) throw new Error(`endpoint ${add.label} of network policy ${add.policy} has no rules list to add to`);
    ep.flow = false;
    for (const r of add.rules) {
      (rules as YAMLSeq).add(ruleNode(doc, r));
      changes.push(`endpoint ${add.label} (network policy ${add.policy}): allow ${r.method} ${r.path}`);
    }
  }

  for (const add of plan.addAllowedIps) {
    const ep = endpointNode(doc, add.key, add.index);
    let list: unknown = ep.get('allowed_ips', true);
    if (!isSeq(list)) {
      const fresh = new YAMLSeq();
      fresh.flow = true;
      ep.set('allowed_ips', fresh);
      list = fresh;
    }
    for (const cidr of add.cidrs) (list as YAMLSeq).add(doc.createNode(cidr));
    changes.push(`endpoint ${add.label} (network policy ${add.policy}): allowed_ips += ${add.cidrs.join(', ')}`);
  }

  for (const set of plan.encodedSlash) {
    endpointNode(doc, set.key, set.index).set('allow_encoded_slash', true);
    changes.push(`endpoint ${set.label} (network policy ${set.policy}): allow_encoded_slash: true`);
  }

  for (const add of plan.newEndpoints) {
    const endpoint: Record<string, unknown> = { host: add.host, port: add.port };
    if (add.rules.length > 0) endpoint.protocol = 'rest';
    if (add.encodedSlash) endpoint.allow_encoded_slash = true;
    if (!doc.has('network_policies') || !isMap(doc.get('network_policies', true))) doc.set('network_policies', new YAMLMap());
    if (!doc.hasIn(['network_policies', add.key])) doc.setIn(['network_policies', add.key], doc.createNode({ endpoints: [] }));
    let endpoints = doc.getIn(['network_policies', add.key, 'endpoints'], true);
    if (!isSeq(endpoints)) {
      endpoints = new YAMLSeq();
      doc.setIn(['network_policies', add.key, 'endpoints'], endpoints);
    }
    (endpoints as YAMLSeq).flow = false;
    const node = doc.createNode(endpoint) as YAMLMap;
    if (add.rules.length > 0) {
      const rules = new YAMLSeq();
      for (const r of add.rules) rules.add(ruleNode(doc, r));
      node.set('rules', rules);
    } else {
      node.flow = true;
    }
    (endpoints as YAMLSeq).add(node);
    changes.push(`network policy ${add.key}: new endpoint ${flowYaml({ host: add.host, port: add.port })}${add.rules.length ? ` allowing ${add.rules.map((r) => `${r.method} ${r.path}`).join(', ')}` : ''}`);
  }

  if (changes.length === 0) return { after: text, changes };
  const printed = parseDocument(text).toString({ lineWidth: 0 });
  const after = doc.toString({ lineWidth: 0 });
  return { after: onOriginal(text, printed, after), changes };
}

/** The printer's changes moved onto the original text, lines compared without their spacing. */
function onOriginal(original: string, printed: string, after: string): string {
  const squash = (line: string) => line.replace(/\s+/g, '');
  const { applyPatch, structuredPatch } = diff();
  const patch = structuredPatch('a', 'b', printed, after, '', '', { context: 2 });
  const result = applyPatch(original, patch, { compareLine: (_n, line, _op, content) => squash(line) === squash(content) });
  return result === false ? after : result;
}
