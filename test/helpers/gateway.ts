import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { startGateway } from '../../app/index.js';
import type { Gateway, GatewayOptions } from '../../app/index.js';
import { tempDir } from './sluice.js';

/**
 * A real gateway with a temp home, its shared proxy on 127.0.0.1:0, and undici talking to its
 * API over the unix socket, as any program driving Sluice would.
 */
export interface TestGateway {
  gateway: Gateway;
  home: string;
  agent: Agent;
  /** One API call; `body` objects are sent as JSON, strings as YAML. */
  call(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; json: Record<string, unknown>; text: string; bytes: Buffer }>;
  /** Every audit record written so far. */
  audit(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export async function startTestGateway(opts: Partial<GatewayOptions> & { policyYaml?: string } = {}): Promise<TestGateway> {
  const home = opts.home ?? tempDir('sluice-gw-');
  const { policyYaml, ...rest } = opts;
  let policyFile = rest.policyFile;
  if (policyYaml !== undefined) {
    policyFile = path.join(home, 'policy.yaml');
    fs.writeFileSync(policyFile, policyYaml);
  }
  const gateway = await startGateway({ home, listen: { host: '127.0.0.1', port: 0 }, healthIntervalMs: 0, graceMs: 2000, ...rest, ...(policyFile ? { policyFile } : {}) });
  const agent = new Agent({ connect: { socketPath: gateway.socketPath } });
  return {
    gateway,
    home,
    agent,
    async call(method, route, body, headers = {}) {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const type = body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'application/yaml' : 'application/json' };
      const res = await request(`http://sluice${route}`, { method: method as 'GET', dispatcher: agent, headers: { ...type, ...headers }, ...(payload !== undefined ? { body: payload } : {}) });
      // Logs are binary frames: their length fields are not UTF-8, so the bytes are kept as read.
      const bytes = Buffer.from(await res.body.arrayBuffer());
      const text = bytes.toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        // not JSON (logs, events): the text is there
      }
      return { status: res.statusCode, headers: res.headers as Record<string, unknown>, json, text, bytes };
    },
    async audit() {
      await gateway.flushAudit();
      if (!fs.existsSync(gateway.auditFile)) return [];
      return fs.readFileSync(gateway.auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await gateway.close();
      await agent.close();
      if (!opts.home) fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Splits the gateway's framed log stream into stdout, stderr and its JSON notes. */
export function readFrames(body: Buffer): { stdout: string; stderr: string; notes: Array<Record<string, unknown>> } {
  const out = { stdout: '', stderr: '', notes: [] as Array<Record<string, unknown>> };
  let at = 0;
  while (at + 8 <= body.length) {
    const length = body.readUInt32BE(at + 4);
    const payload = body.subarray(at + 8, at + 8 + length);
    if (body[at] === 1) out.stdout += payload.toString();
    else if (body[at] === 2) out.stderr += payload.toString();
    else if (body[at] === 3) out.notes.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    at += 8 + length;
  }
  if (at !== body.length) throw new Error(`${body.length - at} trailing bytes are not a whole frame`);
  return out;
}

/** A name no concurrent test run uses (sandbox names are global on the host). */
export function uniqueName(label: string): string {
  return `t${process.pid.toString(36)}-${label}-${Math.random().toString(36).slice(2, 6)}`;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SLUICE_BIN = path.join(root, 'bin', 'sluice');

/** The environment for the CLI under test: tap's loaders (NODE_OPTIONS) are for test files only. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

/** `sluice up` as a user starts it, in a process of its own; resolves once it serves. */
export interface SpawnedGateway {
  child: ChildProcess;
  stderr(): string;
  agent: Agent;
}

export async function spawnGateway(home: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<SpawnedGateway> {
  const child = spawn(SLUICE_BIN, ['up', '--listen', '127.0.0.1:0', ...args], { env: cliEnv({ ...env, SLUICE_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('audit log:')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sluice up exited (${code}): ${err}`)));
  });
  return { child, stderr: () => err, agent: new Agent({ connect: { socketPath: path.join(home, 'gateway', 'api.sock') } }) };
}
