import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { allow, Cancellation, createEventBus, makeDestination, isSluiceError } from '../../core/index.js';
import type { EventBus, SluiceEvent } from '../../core/index.js';
import type { BodyFilter, RequestContext } from '../../core/index.js';
import { createCredentials } from '../../credentials/index.js';
import type { Credentials, ProvidersConfig } from '../../credentials/index.js';

/** Fake secrets shaped like the real ones; the tests grep everything Sluice produced for them. */
export const SECRETS = {
  OPENAI_API_KEY: `sk-proj-${'A1b2C3d4E5'.repeat(15)}Zz9_-Q`,
  ANTHROPIC_API_KEY: `sk-ant-api03-${'Qw3rTy_u-I'.repeat(9)}opAA`,
  GITHUB_TOKEN: 'ghp_R3alGitHubT0kenValue1234567890abcd',
  NVIDIA_API_KEY: `nvapi-${'N5v1d4Key-'.repeat(6)}ABCD`,
  GITLAB_TOKEN: 'glpat-Re4lGitLabTok3n_xy',
  HF_TOKEN: 'hf_RealHuggingFaceTokenValueABCDEFGH',
  NPM_TOKEN: 'npm_R3alNpmT0kenValue1234567890abcdefgh',
  INTERNAL_TOKEN: 'internal-s3cret-with:colon/and+plus',
} as const;

export const ALL_PROVIDERS: ProvidersConfig = {
  openai: { from: 'env:OPENAI_API_KEY' },
  anthropic: { from: 'env:ANTHROPIC_API_KEY' },
  github: { from: 'env:GITHUB_TOKEN' },
  nvidia: { from: 'env:NVIDIA_API_KEY' },
  gitlab: { from: 'env:GITLAB_TOKEN' },
  huggingface: { from: 'env:HF_TOKEN' },
  npm: { from: 'env:NPM_TOKEN' },
};

export interface Harness {
  home: string;
  bus: EventBus;
  events: SluiceEvent[];
  creds: Credentials;
  cleanup(): void;
}

export async function harness(config: ProvidersConfig | undefined = ALL_PROVIDERS, env: NodeJS.ProcessEnv = { ...SECRETS }, home?: string): Promise<Harness> {
  const dir = home ?? mkdtempSync(path.join(os.tmpdir(), 'sluice-cred-'));
  const bus = createEventBus();
  const events: SluiceEvent[] = [];
  bus.on((e) => events.push(e));
  const creds = await createCredentials(config, { home: dir, env, bus });
  return {
    home: dir,
    bus,
    events,
    creds,
    cleanup() {
      creds.close();
      if (!home) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CtxInit {
  host?: string;
  port?: number;
  scheme?: 'http' | 'https';
  path?: string;
  query?: string;
  headers?: IncomingHttpHeaders;
  sandbox?: string;
  method?: string;
}

export function makeCtx(bus: EventBus, init: CtxInit = {}): RequestContext {
  return {
    id: 'test',
    src: { ip: '127.0.0.1', port: 50000 },
    dest: makeDestination(init.host ?? 'api.openai.com', init.port ?? 443),
    scheme: init.scheme ?? 'https',
    hasBody: true,
    sandbox: init.sandbox,
    bus,
    signal: new AbortController().signal,
    cancel: new Cancellation(),
    method: init.method ?? 'POST',
    classification: { hostClass: 'other', path: init.path ?? '/v1/chat/completions', api: undefined, shape: undefined },
    query: init.query ?? '',
    headers: { ...(init.headers ?? {}) },
    network: allow('test'),
    decision: allow('test'),
    requestFilters: [],
    responseFilters: [],
    state: new Map(),
  };
}

/** Runs the stage's header hook; returns the thrown SluiceError, or undefined. */
export async function runHeaders(creds: Credentials, ctx: RequestContext): Promise<{ code: string; wire: string; message: string; context: unknown } | undefined> {
  try {
    await creds.stage.onRequestHeaders!(ctx);
    return undefined;
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    return { code: err.code, wire: err.wire, message: err.message, context: err.context };
  }
}

/** Pushes `chunks` through filters in order, like the proxy does; returns output or the error. */
export async function runFilters(filters: BodyFilter[], chunks: Buffer[]): Promise<{ out: Buffer; error?: { code: string; message: string } }> {
  const outs: Buffer[] = [];
  try {
    for (const chunk of chunks) {
      let data = chunk;
      for (const f of filters) data = await f.transform(data);
      outs.push(data);
    }
    for (let i = 0; i < filters.length; i++) {
      let data = (await filters[i]!.flush?.()) ?? Buffer.alloc(0);
      for (const f of filters.slice(i + 1)) data = await f.transform(data);
      outs.push(data);
    }
    return { out: Buffer.concat(outs) };
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    return { out: Buffer.concat(outs), error: { code: err.code, message: err.message } };
  }
}

/** Every spelling of every secret that must never appear in Sluice's output. */
export function leakedSecrets(text: string): string[] {
  const hits: string[] = [];
  for (const [name, secret] of Object.entries(SECRETS)) {
    const bytes = Buffer.from(secret);
    const spellings = [secret, encodeURIComponent(secret), bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
    // Base64 at each alignment, both alphabets, trimmed of the characters that depend on neighbours.
    for (const pad of ['', 'x', 'xy']) {
      const b64 = Buffer.concat([Buffer.from(pad), bytes]).toString('base64');
      const inner = b64.slice(4, -4);
      spellings.push(inner, inner.replace(/\+/g, '-').replace(/\//g, '_'));
    }
    // A long enough piece in the middle catches truncated copies too.
    spellings.push(secret.slice(8, 28));
    if (spellings.some((s) => text.includes(s))) hits.push(name);
  }
  return hits;
}
