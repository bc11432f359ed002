import type { Destination, EventBus } from '../core/index.js';
import type { CompiledPolicy, Policy } from '../rules/index.js';
import type { Stage } from './stage.js';
import { createPolicyStage } from './policy-stage.js';

/**
 * The only place that knows the order of the stages:
 *   1. policy      — host/port/L7/SSRF decision (fails closed)
 *   2. privacy     — LLM calls: route, redact, translate, answer
 *   3. credentials — placeholders → real values, exfiltration guard
 *   (then the forwarder sends what is left upstream)
 */
export interface PipelineOptions {
  policy(): CompiledPolicy;
  initial: Policy;
  bus: EventBus;
  home: string;
  env: NodeJS.ProcessEnv;
}

export interface Pipeline {
  readonly stages: readonly Stage[];
  isVirtualHost(host: string): boolean;
  /** After a reload: may a tunnel to this destination stay open? */
  stillAllowed(dest: Destination): boolean;
  reload(policy: Policy): Promise<void>;
  close(): Promise<void>;
}

const VIRTUAL_HOSTS = new Set(['inference.local']);

export async function buildPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const isVirtualHost = (host: string) => VIRTUAL_HOSTS.has(host);
  const policyStage = createPolicyStage({
    current: opts.policy,
    isLlmHost: () => false,
    isLlmCall: () => false,
    isVirtualHost,
  });
  const stages: Stage[] = [policyStage];
  return {
    stages,
    isVirtualHost,
    stillAllowed(dest) {
      return isVirtualHost(dest.host) || opts.policy().decideConnect(dest).action === 'allow';
    },
    async reload() {},
    async close() {},
  };
}
