import path from 'node:path';
import type { Destination, EventBus } from '../core/index.js';
import type { CompiledPolicy, Policy } from '../rules/index.js';
import { createCredentials } from '../credentials/index.js';
import { createPrivacyRouter, VIRTUAL_HOST } from '../privacy/index.js';
import type { BackendHealth } from '../privacy/index.js';
import { createDlpStage, createRedactor } from '../redact/index.js';
import type { Redactor } from '../redact/index.js';
import type { Stage } from '../core/index.js';
import { createPolicyStage } from '../rules/index.js';

/**
 * The only place that knows the order of the stages:
 *   1. policy      — host/port/L7 decision (fails closed); LLM calls are left to the router
 *   2. privacy     — LLM calls: route, redact, translate, answer (or let out to the provider)
 *   3. dlp         — other requests: secrets in query strings and bodies are blocked or masked
 *   4. credentials — placeholders → real values, endpoint binding, exfiltration guard
 *   then the forwarder sends what is left upstream, to the address the SSRF guard validated.
 */
export interface PipelineOptions {
  policy(): CompiledPolicy;
  initial: Policy;
  bus: EventBus;
  home: string;
  env: NodeJS.ProcessEnv;
  /** Folder that relative `file:` credential sources are resolved against. */
  baseDir?: string;
  /** Background health checks of LLM backends; 0 disables them (tests). */
  healthIntervalMs?: number;
}

export interface Pipeline {
  readonly stages: readonly Stage[];
  isVirtualHost(host: string): boolean;
  /** Hosts whose calls the router may answer itself: resolved only when a request is forwarded. */
  resolvesLazily(host: string): boolean;
  /** After a reload: may a tunnel to this destination stay open? */
  stillAllowed(dest: Destination): boolean;
  /** Sandbox environment: provider placeholders for `sluice env` / `sluice run`. */
  envFor(sandbox: string): Record<string, string>;
  /** The LLM backends' last health check, by backend name (for `sluice status`). */
  health(): Record<string, BackendHealth>;
  /** Applies the reloadable sections; throws (and changes nothing) when one cannot be applied. */
  reload(policy: Policy): Promise<void>;
  close(): Promise<void>;
}

export async function buildPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const credentials = await createCredentials(opts.initial.providers, {
    home: opts.home,
    env: opts.env,
    bus: opts.bus,
    baseDir: opts.baseDir ?? path.resolve('.'),
  });
  let privacyKey = JSON.stringify(opts.initial.privacy ?? null);
  let redactor: Redactor = createRedactor(opts.initial.privacy);
  const router = createPrivacyRouter({
    config: opts.initial.inference,
    bus: opts.bus,
    credentials,
    redactor: () => redactor,
    ...(opts.healthIntervalMs !== undefined ? { healthIntervalMs: opts.healthIntervalMs } : {}),
  });
  const isVirtualHost = (host: string) => host === VIRTUAL_HOST;
  const dlpStage = createDlpStage({
    redactor: () => redactor,
    isLlmCall: (ctx) => router.isLlmHost(ctx.dest.host) && router.isLlmCall(ctx.dest.host, ctx.method, ctx.path),
    isPlaceholder: (value) => credentials.isPlaceholder(value),
  });
  const policyStage = createPolicyStage({
    current: opts.policy,
    isLlmHost: (host) => router.isLlmHost(host),
    isLlmCall: (host, method, p) => router.isLlmCall(host, method, p),
    isVirtualHost,
  });
  const stages: Stage[] = [policyStage, router.stage, dlpStage, credentials.stage];
  return {
    stages,
    isVirtualHost,
    resolvesLazily: (host) => isVirtualHost(host) || router.isLlmHost(host),
    stillAllowed(dest) {
      return isVirtualHost(dest.host) || router.isLlmHost(dest.host) || opts.policy().decideConnect(dest).action === 'allow';
    },
    envFor: (sandbox) => credentials.envFor(sandbox),
    health: () => router.health(),
    async reload(policy) {
      // Credentials first: it is the one that can fail (a missing secret); the router cannot.
      await credentials.reload(policy.providers);
      router.reload(policy.inference);
      // A new redactor only when its section changed: the pseudonym vaults live in it.
      const nextKey = JSON.stringify(policy.privacy ?? null);
      if (nextKey !== privacyKey) {
        redactor = createRedactor(policy.privacy);
        privacyKey = nextKey;
      }
    },
    async close() {
      await router.close();
      credentials.close();
    },
  };
}
