import type { BenchPki } from '../pki.js';
import type { Upstreams } from '../upstream.js';

export type Capability = 'tunnel' | 'intercept' | 'http';

/** What every contender is started against. */
export interface BenchEnv {
  /** Scratch directory for this run (configs, CA state, hosts file). */
  dir: string;
  pki: BenchPki;
  upstream: Upstreams;
  /** A hosts(5) file mapping every bench name to 127.0.0.1 (for peers, via a private mount). */
  hostsFile: string;
  /** Every bench host name the run will use. */
  names: readonly string[];
  /** Names whose CONNECT is tunneled without interception. */
  tunnelHost: string;
  /** An `inference:` section for Sluice's policy (the LLM lane's routes to fake backends). */
  inferencePolicy?: string;
}

export interface RunningContender {
  readonly name: string;
  /** Absent for the direct baseline. */
  readonly proxyUrl?: string;
  readonly proxyPort?: number;
  /** PEM of the CA the contender signs intercepted leaves with. */
  readonly ca?: string;
  readonly pid?: number;
  close(): Promise<void>;
}

export interface Contender {
  readonly name: string;
  /** Which scenarios it can take part in; the rest show as "n/a (reason)". */
  readonly capabilities: ReadonlySet<Capability>;
  /** Why a capability is missing, for the table. */
  readonly missingReason: string;
  /** Why it cannot run on this machine at all, or undefined. */
  unavailable(): Promise<string | undefined>;
  start(env: BenchEnv): Promise<RunningContender>;
}
