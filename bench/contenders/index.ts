import type { Contender } from './contender.js';
import { createDirectContender } from './direct.js';
import { createMitmproxyContender } from './mitmproxy.js';
import { createMockttpContender } from './mockttp.js';
import { createSandboxRuntimeContender } from './sandbox-runtime.js';
import { createSluiceContender } from './sluice.js';
import { createSquidContender } from './squid.js';

export type { BenchEnv, Capability, Contender, RunningContender } from './contender.js';
export { benchPolicy } from './sluice.js';

export const PEER_NAMES = ['mitmproxy', 'squid', 'mockttp', 'sandbox-runtime'] as const;

/** Every contender, in table order: the baseline, Sluice, then the peers asked for. */
export function createContenders(peers: readonly string[] = PEER_NAMES): Contender[] {
  const all: Record<string, () => Contender> = {
    mitmproxy: createMitmproxyContender,
    squid: createSquidContender,
    mockttp: createMockttpContender,
    'sandbox-runtime': createSandboxRuntimeContender,
  };
  const unknown = peers.filter((p) => !all[p]);
  if (unknown.length) throw new Error(`unknown peer(s): ${unknown.join(', ')} (known: ${PEER_NAMES.join(', ')})`);
  return [createDirectContender(), createSluiceContender(), ...peers.map((p) => all[p]!())];
}
