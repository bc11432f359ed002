import path from 'node:path';
import type { Classifier, Destination, EventBus, Stage } from '../core/index.js';
import { createCredentials } from '../credentials/index.js';
import { createPrivacyRouter } from '../privacy/index.js';
import type { BackendHealth } from '../privacy/index.js';
import { createDlpStage, createRedactor } from '../redact/index.js';
import type { Redactor } from '../redact/index.js';
import { createPolicyStage, decideConnectFor } from '../rules/index.js';
import type { CompiledPolicy, Policy } from '../rules/index.js';
import { createClassifier } from './classify.js';
import { effectiveInference, routedKeys } from './inference.js';

/**
 * The only place that knows the order of the stages. Before any of them, the wire classifies the
 * request once (`classifier`: canonical path, LLM host or not, which API); then
 *   1. policy      — host/port/L7 (fails closed); on LLM hosts, whether the host may be reached
 *                    and what the network policy says about sending the request to the provider
 *   2. privacy     — everything on LLM hosts: route, redact, translate, answer, let out, or refuse
 *                    in the provider's own error shape
 *   3. dlp         — requests that are not recognised LLM calls: secrets in query strings and bodies
 *   4. credentials — placeholders → real values, endpoint binding, exfiltration guard
 *   then the forwarder sends what some stage allowed, to the address the SSRF guard validated.
 */
export interface PipelineOptions {
  policy(): CompiledPolicy;
  initial: Policy;
  bus: EventBus;
  home: string;
  env: NodeJS.ProcessEnv;
  /** Folder that relative `file:` credential sources are resolved against. */
  baseDir?: string;
  /** Background health checks of LLM backends; 0 disables them (tests, explain). */
  healthIntervalMs?: number;
  /** `sluice explain`: placeholders are issued and checked, no secret is read. */
  placeholdersOnly?: boolean;
}

export interface Pipeline {
  readonly stages: readonly Stage[];
  readonly classifier: Classifier;
  /** After a reload: may a tunnel to this destination stay open? */
  stillAllowed(dest: Destination): boolean;
  /** Sandbox environment: provider placeholders for `sluice env` / `sluice run`, routed providers' included. */
  envFor(sandbox: string): Record<string, string>;
  /** Real credentials and every secret type out of strings bound for the audit log and --verbose. */
  scrubForLog(value: string): string;
  /** The credential a sandbox proves itself with on a shared listener, and its check. */
  proxyTokenFor(sandbox: string): string;
  verifyProxyToken(sandbox: string, token: string): boolean;
  /** Provider names in force (never values). */
  providers(): string[];
  /** Re-reads every provider's secret from its source; throws (and changes nothing) on failure. */
  reloadSecrets(providers: Policy['providers']): Promise<void>;
  /** The LLM backends' health, as the router last saw it. */
  health(): Record<string, BackendHealth>;
  /** Applies the reloadable sections; throws (and changes nothing) when one cannot be applied. */
  reload(policy: Policy, compiled: CompiledPolicy): Promise<void>;
  close(): Promise<void>;
}

const MAX_REMEMBERED = 4096;
const MAX_REMEMBERED_LENGTH = 1024;

export async function buildPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const credentials = await createCredentials(opts.initial.providers, {
    home: opts.home,
    env: opts.env,
    bus: opts.bus,
    baseDir: opts.baseDir ?? path.resolve('.'),
    ...(opts.placeholdersOnly ? { placeholdersOnly: true } : {}),
  });
  let privacyKey = JSON.stringify(opts.initial.privacy ?? null);
  let redactor: Redactor = createRedactor(opts.initial.privacy);
  const inference = effectiveInference(opts.initial, opts.policy());
  // Providers the routes answer: their key variables get placeholders even without a provider entry.
  const routed = routedKeys(inference);
  credentials.setRouted(routed.profiles, routed.hosts);
  const router = createPrivacyRouter({
    config: inference,
    bus: opts.bus,
    credentials,
    redactor: () => redactor,
    ...(opts.healthIntervalMs !== undefined ? { healthIntervalMs: opts.healthIntervalMs } : {}),
  });
  const classifier = createClassifier({ policy: opts.policy, router });
  const stages: Stage[] = [
    createPolicyStage({ current: opts.policy }),
    router.stage,
    createDlpStage({ redactor: () => redactor, isPlaceholder: (value) => credentials.isPlaceholder(value) }),
    credentials.stage,
  ];
  // Log strings already scrubbed, oldest first; emptied whenever the secrets or recognizers change.
  const scrubbed = new Map<string, string>();
  return {
    stages,
    classifier,
    stillAllowed: (dest) => decideConnectFor(opts.policy(), dest, classifier.hostClass(dest)).action === 'allow',
    envFor: (sandbox) => credentials.envFor(sandbox),
    scrubForLog(value) {
      // Most logged strings recur (paths, hosts, reasons): a scan costs microseconds, a lookup nothing.
      const known = scrubbed.get(value);
      if (known !== undefined) return known;
      const out = credentials.scrubForLog(redactor.logScrubber.scrub(value));
      if (value.length <= MAX_REMEMBERED_LENGTH) {
        if (scrubbed.size >= MAX_REMEMBERED) scrubbed.delete(scrubbed.keys().next().value as string);
        scrubbed.set(value, out);
      }
      return out;
    },
    proxyTokenFor: (sandbox) => credentials.proxyTokenFor(sandbox),
    verifyProxyToken: (sandbox, token) => credentials.verifyProxyToken(sandbox, token),
    providers: () => credentials.providers(),
    reloadSecrets: (providers) => credentials.reload(providers),
    health: () => router.health(),
    async reload(policy, compiled) {
      // Credentials first: it is the one that can fail (a missing secret); the router cannot.
      await credentials.reload(policy.providers);
      scrubbed.clear();
      const next = effectiveInference(policy, compiled);
      router.reload(next);
      const routed = routedKeys(next);
      credentials.setRouted(routed.profiles, routed.hosts);
      // A new redactor only when its section changed: the pseudonym vaults live in it.
      const nextKey = JSON.stringify(policy.privacy ?? null);
      if (nextKey !== privacyKey) {
        // Calls in flight keep the vault they took; closing only lets the old store and pool go.
        const previous = redactor;
        redactor = createRedactor(policy.privacy);
        privacyKey = nextKey;
        previous.close();
      }
    },
    async close() {
      await router.close();
      credentials.close();
      redactor.close();
    },
  };
}
