import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSluice } from '../../app/index.js';
import type { Sluice, SluiceOptions } from '../../app/index.js';

export interface TestSluice extends Sluice {
  home: string;
  policyFile: string;
  /** Rewrites the policy file (hot reload picks it up) and waits for the reload event. */
  writePolicy(yaml: string): Promise<{ activity: 'loaded' | 'rejected'; errors?: string[] }>;
  /** Every audit event written so far, after flushing the queue. */
  readAudit(): Promise<Array<Record<string, unknown>>>;
  /** Deprecated: reads without flushing (may miss queued events); use readAudit(). */
  auditEvents(): Array<Record<string, unknown>>;
}

export function tempDir(prefix = 'sluice-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A sandbox run dir of the test's own (SLUICE_RUN_DIR, for this process and the CLIs it starts
 * with it), removed and the previous one restored when the test ends: sandboxes made there are
 * seen by this test's clean-ups only, not by those of concurrent test files.
 */
export function ownRunDir(t: { teardown(fn: () => void): void }, prefix = 'sluice-run-'): string {
  const runDir = tempDir(prefix);
  const saved = process.env.SLUICE_RUN_DIR;
  process.env.SLUICE_RUN_DIR = runDir;
  t.teardown(() => {
    if (saved === undefined) delete process.env.SLUICE_RUN_DIR;
    else process.env.SLUICE_RUN_DIR = saved;
    fs.rmSync(runDir, { recursive: true, force: true });
  });
  return runDir;
}

/** A real Sluice on 127.0.0.1:0 with a temp home, a policy file, and the test CA trusted upstream. */
export async function startTestSluice(policyYaml: string, opts: Partial<SluiceOptions> & { upstreamCA?: string[] } = {}): Promise<TestSluice> {
  const home = opts.home ?? tempDir();
  const policyFile = path.join(home, 'policy.yaml');
  fs.writeFileSync(policyFile, policyYaml);
  const sluice = await startSluice({ home, policyFile, listen: { host: '127.0.0.1', port: 0 }, ...opts });
  const test: TestSluice = {
    ...sluice,
    home,
    policyFile,
    async writePolicy(yaml: string) {
      const seen = new Promise<{ activity: 'loaded' | 'rejected'; errors?: string[] }>((resolve) => {
        const off = sluice.bus.on((e) => {
          if (e.type === 'policy') {
            off();
            resolve({ activity: e.activity, ...(e.errors ? { errors: e.errors } : {}) });
          }
        });
      });
      const tmp = `${policyFile}.tmp`;
      fs.writeFileSync(tmp, yaml);
      fs.renameSync(tmp, policyFile);
      return seen;
    },
    async readAudit() {
      await sluice.flushAudit();
      return test.auditEvents();
    },
    auditEvents() {
      if (!fs.existsSync(sluice.auditFile)) return [];
      return fs
        .readFileSync(sluice.auditFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await sluice.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
  return test;
}
