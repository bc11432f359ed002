import type { AttributeClient, ClientProcess } from '../core/index.js';
import { createBinaryPins } from './binary-pins.js';
import type { BinaryPins } from './binary-pins.js';
import { attributeConnection } from './process-attribution.js';
import type { RunningSandbox, SandboxInit } from './types.js';


/**
 * The listener hook of a sandbox Sluice runs: a client connection's 4-tuple → the program inside
 * the sandbox that holds it (sandbox/process-attribution.ts), with its executable and every
 * ancestor's checked against their first-use SHA-256 (sandbox/binary-pins.ts). Whatever cannot be
 * established is an error, never a guess: the policy then treats the client as no named program.
 */
export function createSandboxAttribution(opts: { init(): Promise<SandboxInit | undefined>; procRoot?: string; pins?: BinaryPins }): AttributeClient {
  const pins = opts.pins ?? createBinaryPins(opts.procRoot ? { procRoot: opts.procRoot } : {});
  return async ({ remote, local }): Promise<ClientProcess> => {
    const init = await opts.init();
    if (!init) return { error: 'the sandbox has no running process' };
    let who;
    try {
      who = await attributeConnection({ sandboxPid: init.pid, initIsSupervisor: init.supervisor, ...(opts.procRoot ? { procRoot: opts.procRoot } : {}) }, { address: remote.ip, port: remote.port }, { address: local.ip, port: local.port });
    } catch (err) {
      return { error: (err as Error).message };
    }
    if (!who) return { error: `no process in the sandbox holds the connection from ${remote.ip}:${remote.port}` };
    try {
      await pins.verify(who.exe, who.pid);
      for (let i = 0; i < who.ancestors.length; i++) await pins.verify(who.ancestors[i]!, who.ancestorPids[i]!);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A process that exits while it is being checked leaves nothing to check: not attributed.
      return { error: code ? `the program that opened the connection could not be read (${code})` : `binary integrity: ${(err as Error).message}` };
    }
    return { identity: { exe: who.exe, ancestors: who.ancestors } };
  };
}

/**
 * The attribution for a sandbox whose listener starts before its command (no client exists
 * before): lookups wait until `started` says which sandbox runs, or that none will.
 */
export function attributionOnStart(): { attributeClient: AttributeClient; started(sandbox: RunningSandbox | undefined): void } {
  let started: (sandbox: RunningSandbox | undefined) => void = () => undefined;
  const running = new Promise<RunningSandbox | undefined>((resolve) => (started = resolve));
  return { attributeClient: createSandboxAttribution({ init: async () => (await running)?.init() }), started };
}
