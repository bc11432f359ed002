import { existsSync } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../fork-child.js';
import type { BenchEnv, Contender, RunningContender } from './contender.js';
import { freePort, spawnProxy } from './spawn-proxy.js';

/**
 * How to run Sluice: bin/sluice (which runs the built dist/cli/main.js), or, when
 * SLUICE_BENCH_FROM_SOURCE=1 or nothing is built, cli/main.ts's `main()` through tsx.
 */
function sluiceCommand(): string[] | undefined {
  const root = repoRoot();
  const built = join(root, 'dist/cli/main.js');
  const source = join(root, 'cli/main.ts');
  const tsx = join(root, 'node_modules/tsx/dist/loader.mjs');
  if (process.env.SLUICE_BENCH_FROM_SOURCE !== '1' && existsSync(built)) return [process.execPath, join(root, 'bin/sluice')];
  if (existsSync(source) && existsSync(tsx)) {
    const script = `const m = await import(${JSON.stringify(pathToFileURL(source).href)}); process.exitCode = await m.main(process.argv.slice(1));`;
    return [process.execPath, '--import', pathToFileURL(tsx).href, '--input-type=module', '-e', script, '--'];
  }
  return undefined;
}

/** The policy the bench runs Sluice with: everything it measures allowed, tunnel host `tls: skip`. */
export function benchPolicy(env: BenchEnv): string {
  const u = env.upstream;
  return [
    'version: 1',
    'network_policies:',
    '  bench_intercept:',
    '    endpoints:',
    `      - { host: bench.test, port: ${u.https}, protocol: rest, access: full }`,
    `      - { host: "*.bench.test", port: ${u.https}, protocol: rest, access: full }`,
    '  bench_tunnel:',
    '    endpoints:',
    `      - { host: ${env.tunnelHost}, ports: [${u.https}, ${u.hold}], tls: skip }`,
    '  bench_plain:',
    '    endpoints:',
    `      - { host: plain.test, port: ${u.http}, protocol: rest, access: full }`,
    ...(env.inferencePolicy ? [env.inferencePolicy] : []),
    '',
  ].join('\n');
}

export function createSluiceContender(): Contender {
  return {
    name: 'sluice',
    capabilities: new Set(['tunnel', 'intercept', 'http']),
    missingReason: '',
    async unavailable() {
      return sluiceCommand() ? undefined : 'not available (no dist/cli/main.js: run `npm run build`)';
    },
    async start(env: BenchEnv): Promise<RunningContender> {
      const port = await freePort();
      const home = join(env.dir, `sluice-${port}`);
      await mkdir(home, { recursive: true });
      const policy = join(home, 'policy.yaml');
      await writeFile(policy, benchPolicy(env));
      const caPath = join(home, 'ca', 'sluice-ca.pem');
      const [node, ...script] = sluiceCommand()!;
      // SLUICE_BENCH_CPU_PROF=DIR: every Sluice the bench starts writes a V8 CPU profile there when it stops.
      const prof = process.env.SLUICE_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SLUICE_BENCH_CPU_PROF] : [];
      // SLUICE_BENCH_NODE_ARGS: more Node options for every Sluice the bench starts (e.g. `--trace-gc`, a `--require` probe).
      const nodeArgs = process.env.SLUICE_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
      const argv = [
        node!, ...prof, ...nodeArgs, ...script, 'up',
        '--listen', `127.0.0.1:${port}`,
        '--policy', policy,
        '--home', home,
        ...env.names.flatMap((n) => ['--resolve', `${n}=127.0.0.1`]),
      ];
      const proc = await spawnProxy({
        argv,
        port,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: env.pki.caCertPath, SLUICE_HOME: home },
        ready: () => access(caPath).then(() => true, () => false),
        timeoutMs: 30_000,
        // SLUICE_BENCH_OUTPUT=DIR: each Sluice's stdout and stderr (where `--trace-gc` writes) kept as DIR/sluice-PORT.log.
        ...(process.env.SLUICE_BENCH_OUTPUT ? { outputFile: join(process.env.SLUICE_BENCH_OUTPUT, `sluice-${port}.log`) } : {}),
      });
      return { name: 'sluice', proxyUrl: `http://127.0.0.1:${port}`, proxyPort: port, ca: await readFile(caPath, 'utf8'), pid: proc.pid, close: () => proc.close() };
    },
  };
}
