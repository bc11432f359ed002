import { PassThrough, type Readable, type Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { StdioMode } from './types.js';

export interface AttachedStdio {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Resolves when the container's output stream has ended. */
  ended: Promise<void>;
  detach(): void;
}

/**
 * Attaches before start so that no output is lost. Without a TTY Docker multiplexes stdout and
 * stderr on one stream (8-byte frame headers) and dockerode splits them; with one it is raw.
 * Hijacking the connection lets stdin be half-closed, so `echo x | sluice run -- cat` ends.
 */
export async function attachStdio(container: Docker.Container, opts: { tty: boolean; mode: StdioMode; see?: (chunk: Buffer) => void }): Promise<AttachedStdio> {
  const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream &
    Readable & { destroy(): void };
  // the raw stream, frame headers and all: what `see` looks for lies within one frame
  if (opts.see) stream.on('data', opts.see);
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.on('error', () => resolve());
  });

  if (opts.mode === 'pipe') {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = opts.tty ? null : new PassThrough();
    stdin.pipe(stream);
    if (opts.tty) stream.pipe(stdout);
    else container.modem.demuxStream(stream, stdout, stderr);
    void ended.then(() => {
      stdout.end();
      stderr?.end();
    });
    const detach = () => {
      stream.destroy();
      stdout.end();
      stderr?.end();
    };
    return { stdin, stdout, stderr, ended, detach };
  }

  const input = process.stdin;
  const rawBefore = input.isTTY ? input.isRaw : false;
  const resize = () => {
    container.resize({ h: process.stdout.rows, w: process.stdout.columns }).catch(() => undefined);
  };
  if (opts.tty && input.isTTY) input.setRawMode(true);
  input.pipe(stream);
  if (opts.tty) {
    stream.pipe(process.stdout, { end: false });
    process.stdout.on('resize', resize);
    // the container is not running yet; size it as soon as it is
    setTimeout(resize, 100).unref();
  } else {
    container.modem.demuxStream(stream, process.stdout, process.stderr);
  }
  let detached = false;
  const detach = () => {
    if (detached) return;
    detached = true;
    input.unpipe(stream);
    input.pause();
    if (opts.tty && input.isTTY) input.setRawMode(rawBefore);
    process.stdout.off('resize', resize);
    stream.destroy();
  };
  void ended.then(detach);
  return { stdin: null, stdout: null, stderr: null, ended, detach };
}
