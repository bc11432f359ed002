import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';

/**
 * A bare repository served by `git http-backend` (smart HTTP), as a handler for an upstream
 * from test/helpers/upstream.ts: what `git ls-remote https://…` inside the sandbox talks to.
 */
export interface GitRepo {
  root: string;
  /** the commit `main` points at */
  head: string;
  handler(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void;
  close(): void;
}

export function createGitRepo(name = 'repo.git'): GitRepo {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-git-'));
  const work = path.join(root, 'work');
  const git = (args: string[], cwd = work) =>
    execFileSync('git', args, { cwd, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } })
      .toString()
      .trim();
  fs.mkdirSync(work);
  git(['init', '-q', '-b', 'main']);
  fs.writeFileSync(path.join(work, 'README'), 'sluice\n');
  git(['add', 'README']);
  git(['commit', '-q', '-m', 'init']);
  const head = git(['rev-parse', 'HEAD']);
  git(['clone', '-q', '--bare', work, path.join(root, name)], root);
  return {
    root,
    head,
    handler(req, res, body) {
      const url = new URL(req.url ?? '/', 'http://x');
      const cgi = spawn('git', ['http-backend'], {
        env: {
          PATH: process.env.PATH,
          GIT_PROJECT_ROOT: root,
          GIT_HTTP_EXPORT_ALL: '1',
          REQUEST_METHOD: req.method ?? 'GET',
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          CONTENT_LENGTH: String(body.length),
          GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
          REMOTE_ADDR: '127.0.0.1',
        },
      });
      const chunks: Buffer[] = [];
      cgi.on('error', () => res.destroy());
      cgi.stdin.on('error', () => undefined); // the backend may exit before reading the body
      cgi.stdout.on('data', (c: Buffer) => chunks.push(c));
      cgi.on('close', () => {
        const out = Buffer.concat(chunks);
        const split = out.indexOf('\r\n\r\n');
        const headerEnd = split >= 0 ? split : out.indexOf('\n\n');
        const sepLen = split >= 0 ? 4 : 2;
        const headers: Record<string, string> = {};
        let status = 200;
        for (const line of out.subarray(0, headerEnd).toString().split(/\r?\n/)) {
          const i = line.indexOf(':');
          if (i < 0) continue;
          const key = line.slice(0, i).trim().toLowerCase();
          const value = line.slice(i + 1).trim();
          if (key === 'status') status = parseInt(value, 10);
          else headers[key] = value;
        }
        res.writeHead(status, headers);
        res.end(out.subarray(headerEnd + sepLen));
      });
      cgi.stdin.end(body);
    },
    close() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
