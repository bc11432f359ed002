import { PEER_NAMES } from './contenders/index.js';

export const SCENARIO_IDS = ['tunnel', 'intercept', 'new-host', 'large', 'plain', 'memory', 'llm', 'llm-peers', 'agents', 'redaction', 'sandbox', 'gateway'] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

/** How hard each scenario pushes; `--quick` shrinks every knob so CI keeps the harness honest. */
export interface BenchScale {
  rounds: number;
  /** Unmeasured run per contender and path before the first scenario. */
  startWarmupMs: number;
  warmupMs: number;
  durationMs: number;
  concurrencies: readonly number[];
  newHosts: number;
  newHostWarmup: number;
  largeBytes: number;
  /** Large transfers per round and direction (sequential); one is too short to time well. */
  largeRequests: number;
  tunnelCounts: readonly [number, number];
  heldConnections: number;
  loadForMemoryMs: number;
}

export interface BenchOptions {
  quick: boolean;
  only: ScenarioId[];
  peers: string[];
  scale: BenchScale;
  /** Where results go (bench/results unless told). */
  resultsDir?: string;
}

export const FULL_SCALE: BenchScale = {
  rounds: 3,
  startWarmupMs: 1000,
  warmupMs: 300,
  durationMs: 1500,
  concurrencies: [1, 16, 64],
  newHosts: 150,
  newHostWarmup: 10,
  largeBytes: 64 * 1024 * 1024,
  largeRequests: 3,
  tunnelCounts: [1000, 10000],
  heldConnections: 1000,
  loadForMemoryMs: 1500,
};

export const QUICK_SCALE: BenchScale = {
  rounds: 1,
  startWarmupMs: 300,
  warmupMs: 50,
  durationMs: 200,
  concurrencies: [1, 16, 64],
  newHosts: 10,
  newHostWarmup: 2,
  largeBytes: 2 * 1024 * 1024,
  largeRequests: 1,
  tunnelCounts: [50, 200],
  heldConnections: 50,
  loadForMemoryMs: 200,
};

function list(v: string | undefined, flag: string): string[] {
  if (!v) throw new Error(`${flag} needs a value`);
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Parses `--quick`, `--only a,b`, `--peers a,b` (`--peers none` for no peers), `--out DIR`. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let quick = false;
  let only: ScenarioId[] = [...SCENARIO_IDS];
  let peers: string[] = [...PEER_NAMES];
  let resultsDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--only': {
        const ids = list(value(), '--only');
        const bad = ids.filter((s) => !(SCENARIO_IDS as readonly string[]).includes(s));
        if (bad.length) throw new Error(`unknown scenario(s) ${bad.join(', ')}; known: ${SCENARIO_IDS.join(', ')}`);
        only = ids as ScenarioId[];
        break;
      }
      case '--peers': {
        const ps = list(value(), '--peers');
        peers = ps.length === 1 && ps[0] === 'none' ? [] : ps;
        const bad = peers.filter((p) => !(PEER_NAMES as readonly string[]).includes(p));
        if (bad.length) throw new Error(`unknown peer(s) ${bad.join(', ')}; known: ${PEER_NAMES.join(', ')}`);
        break;
      }
      case '--out':
        resultsDir = value();
        break;
      default:
        throw new Error(`unknown option ${a} (use --quick, --only SCENARIO[,…], --peers PEER[,…]|none, --out DIR)`);
    }
  }
  return { quick, only, peers, scale: quick ? QUICK_SCALE : FULL_SCALE, ...(resultsDir ? { resultsDir } : {}) };
}
