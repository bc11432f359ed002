import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { commandLibraries, ldd } from './command-libraries.js';
import { ensureDocker } from './docker-engine.js';
import { runCommand } from './run-command.js';

export const BASE_IMAGE = 'sluice-base:latest';

/**
 * Why the base image is assembled from the host's own binaries rather than debootstrapped:
 * it needs no network and no registry (CI machines and air-gapped hosts have neither, and
 * debootstrap is not installed by default), it takes seconds, and the tools in the image are
 * exactly the ones the bwrap driver runs, so both drivers behave the same. The binaries and
 * every shared library `ldd` reports are copied with their paths; nothing else from the host.
 */
const TOOLS = [
  'bash', 'sh', 'dash', 'env', 'cat', 'ls', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'ln', 'echo', 'printf', 'id', 'true',
  'false', 'sleep', 'date', 'head', 'tail', 'grep', 'sed', 'tr', 'wc', 'sort', 'uniq', 'cut', 'uname', 'timeout',
  'touch', 'chmod', 'find', 'xargs', 'basename', 'dirname', 'readlink', 'realpath', 'tee', 'stat', 'mktemp', 'tar',
  'gzip', 'which', 'getent', 'awk', 'mawk', 'diff', 'less', 'tty', 'stty', 'kill', 'ps', 'curl', 'git', 'python3', 'node',
];
/**
 * Libraries no tool above links but agents' native parts do, by soname: glibc's split-out
 * libraries (Claude Code's native binary needs librt, Copilot CLI's terminal addon libutil; Bun-
 * and Rust-built agents libdl, libpthread, libm), the C++ runtime of Node addons, zlib, and the
 * name-service modules getaddrinfo loads. Taken from the host's library cache (`ldconfig -p`),
 * for the architecture of the host's own libc.
 */
const LIBRARIES = [
  'librt.so.1', 'libutil.so.1', 'libdl.so.2', 'libpthread.so.0', 'libm.so.6', 'libresolv.so.2', 'libanl.so.1',
  'libnss_files.so.2', 'libnss_dns.so.2', 'libstdc++.so.6', 'libgcc_s.so.1', 'libz.so.1',
];
/** Whole directories the tools need at run time (git helpers, Python's standard library). */
const TREES = ['/usr/lib/git-core', '/usr/share/git-core', '/etc/ssl/certs/ca-certificates.crt'];
const EXCLUDES = ['usr/lib/python3*/test', 'usr/lib/python3*/idlelib', 'usr/lib/python3*/tkinter', 'usr/lib/python3*/ensurepip'];

/**
 * Changes whenever the recipe does, so that a cached image from an older recipe is rebuilt; the
 * libraries added for commands (`--for`) are part of it, so an image built for other commands
 * (or for none) is rebuilt too. With none the recipe is the plain base image's.
 */
function recipeOf(extra: string[]): string {
  return createHash('sha256').update(JSON.stringify({ TOOLS, LIBRARIES, TREES, EXCLUDES, v: 3, ...(extra.length ? { extra } : {}) })).digest('hex').slice(0, 16);
}
const RECIPE_LABEL = 'sluice.base-recipe';

export interface BuildImageOptions {
  tag?: string;
  /** rebuild even if the image exists */
  force?: boolean;
  /** commands whose shared libraries (on this host) the image must carry too */
  for?: string[];
  onProgress?: (line: string) => void;
}

/** The libraries the `--for` commands link, with a line for each soname the host itself lacks. */
async function librariesFor(commands: string[], onProgress?: (line: string) => void): Promise<string[]> {
  const all = new Set<string>();
  for (const command of commands) {
    const found = await commandLibraries(command).catch((err: Error) => {
      throw new Error(`sluice image build --for ${command}: ${err.message}`, { cause: err });
    });
    for (const lib of found.libraries) all.add(lib);
    onProgress?.(`${command}: ${found.libraries.length} shared libraries from ${found.executables.length} executable${found.executables.length === 1 ? '' : 's'}`);
    if (found.unresolved.length) onProgress?.(`${command}: this host has no ${found.unresolved.join(', ')} either; the image cannot carry ${found.unresolved.length === 1 ? 'it' : 'them'}`);
  }
  return [...all].sort();
}

export async function buildBaseImage(opts: BuildImageOptions = {}): Promise<{ image: string; built: boolean; ms: number }> {
  const t0 = Date.now();
  const image = opts.tag ?? BASE_IMAGE;
  const extra = await librariesFor(opts.for ?? [], opts.onProgress);
  const recipe = recipeOf(extra);
  const docker = await ensureDocker(opts.onProgress ? { onProgress: opts.onProgress } : {});
  if (!opts.force) {
    const existing = await docker
      .getImage(image)
      .inspect()
      .catch(() => undefined);
    if (existing?.Config?.Labels?.[RECIPE_LABEL] === recipe) return { image, built: false, ms: Date.now() - t0 };
  }
  const files = await collectHostFiles(extra);
  opts.onProgress?.(`packing ${files.length} host paths`);
  const staging = await mkdtemp(path.join(os.tmpdir(), 'sluice-image-'));
  try {
    await writeStaging(staging);
    const tar = spawn('tar', [
      '-cf', '-',
      ...EXCLUDES.map((e) => `--exclude=${e}`),
      '-C', '/', ...files,
      '-C', staging, '.',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.on('data', (c: Buffer) => (tarErr += c.toString()));
    const tarExit = new Promise<number>((resolve) => tar.on('close', (c) => resolve(c ?? 1)));
    const [repo, tag] = splitTag(image);
    const progress = await docker.importImage(tar.stdout, {
      repo,
      tag,
      changes: [
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'ENV LANG=C.UTF-8',
        'WORKDIR /tmp',
        'USER 1000:1000',
        'CMD ["/bin/bash"]',
        `LABEL ${RECIPE_LABEL}=${recipe}`,
      ],
    } as Record<string, unknown>);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve()), (event: { status?: string }) => {
        if (event.status) opts.onProgress?.(event.status);
      });
    });
    const code = await tarExit;
    if (code !== 0) throw new Error(`building ${image}: tar failed: ${tarErr.trim()}`);
    return { image, built: true, ms: Date.now() - t0 };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function splitTag(image: string): [string, string] {
  const i = image.lastIndexOf(':');
  return i > image.lastIndexOf('/') ? [image.slice(0, i), image.slice(i + 1)] : [image, 'latest'];
}

/** Relative paths (for `tar -C /`) of the tools, their symlink chains and shared libraries. */
async function collectHostFiles(extra: string[]): Promise<string[]> {
  const paths = new Set<string>();
  const elfs: string[] = [];
  const addWithLinks = (p: string) => {
    let current = p;
    for (let hops = 0; hops < 10 && existsSync(current); hops++) {
      const canonical = path.join(realpathSync(path.dirname(current)), path.basename(current));
      paths.add(canonical);
      if (!lstatSync(canonical).isSymbolicLink()) break;
      current = path.resolve(path.dirname(canonical), readlinkSync(canonical));
    }
  };
  for (const tool of TOOLS) {
    const found = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => path.join(d, tool)).find((p) => existsSync(p));
    if (!found) continue;
    addWithLinks(found);
    elfs.push(realpathSync(found));
  }
  const python = existsSync('/usr/bin/python3') ? realpathSync('/usr/bin/python3') : undefined;
  if (python) {
    const stdlib = path.join('/usr/lib', path.basename(python));
    if (existsSync(stdlib)) {
      paths.add(stdlib);
      const dynload = path.join(stdlib, 'lib-dynload');
      if (existsSync(dynload)) elfs.push(dynload);
    }
  }
  for (const tree of TREES) {
    if (existsSync(tree)) paths.add(realpathSync(tree));
  }
  if (existsSync('/usr/lib/git-core')) elfs.push('/usr/lib/git-core/git-remote-http', '/usr/lib/git-core/git-http-fetch');
  const linked = await sharedLibraries(elfs);
  for (const lib of [...linked, ...(await cachedLibraries(LIBRARIES, linked)), ...extra]) addWithLinks(lib);
  // merged-/usr root symlinks (bin -> usr/bin, …)
  for (const entry of ['bin', 'sbin', 'lib', 'lib64', 'lib32']) {
    const p = `/${entry}`;
    if (existsSync(p) && lstatSync(p).isSymbolicLink()) paths.add(p);
  }
  return [...paths].map((p) => p.replace(/^\//, ''));
}

async function sharedLibraries(targets: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const target of targets) {
    if (lstatSync(target).isDirectory()) {
      const { stdout } = await runCommand('find', [target, '-name', '*.so']);
      files.push(...stdout.split('\n').filter(Boolean));
    } else {
      files.push(target);
    }
  }
  return (await ldd(files)).libraries;
}

/**
 * Paths of the named libraries in the host's library cache, for the architecture of the libc the
 * tools link (the cache lists 32-bit copies too). The ones the host lacks are skipped: the image
 * carries what the host has, and `ldd` of an agent on the host says what it lacks there.
 */
async function cachedLibraries(sonames: string[], linked: string[]): Promise<string[]> {
  const libc = linked.find((p) => path.basename(p) === 'libc.so.6');
  const { stdout } = await runCommand(existsSync('/sbin/ldconfig') ? '/sbin/ldconfig' : 'ldconfig', ['-p']).catch(() => ({ stdout: '' }));
  const out: string[] = [];
  for (const soname of sonames) {
    const candidates = stdout.split('\n').map((line) => /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\/\S+)/.exec(line)).filter((m) => m?.[1] === soname).map((m) => m![3] as string);
    const sameDir = candidates.find((p) => libc && path.dirname(realpathSync(p)) === path.dirname(realpathSync(libc)));
    if (sameDir) out.push(sameDir);
  }
  return out;
}

async function writeStaging(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  await mkdir(path.join(dir, 'etc'), { mode: 0o755 });
  for (const d of ['tmp', 'var/tmp']) {
    await mkdir(path.join(dir, d), { recursive: true });
    await chmod(path.join(dir, d), 0o1777);
  }
  await mkdir(path.join(dir, 'home/sluice'), { recursive: true, mode: 0o755 });
  await chown(path.join(dir, 'home/sluice'), 1000, 1000);
  await mkdir(path.join(dir, 'sluice'), { mode: 0o755 });
  await writeFile(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\nsandbox:x:1000:1000:sandbox:/home/sluice:/bin/bash\nsluice:x:1000:1000:sluice:/home/sluice:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  await writeFile(path.join(dir, 'etc/group'), 'root:x:0:\nsandbox:x:1000:\nsluice:x:1000:\nnogroup:x:65534:\n');
  await writeFile(path.join(dir, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  await writeFile(path.join(dir, 'etc/os-release'), 'NAME="Sluice base"\nID=sluice-base\n');
}
