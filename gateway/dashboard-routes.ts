import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../core/index.js';
import type { Route } from './route.js';

/**
 * The browser dashboard: three static files from gateway/dashboard/ (no bundler, no
 * dependencies), served by the gateway's API listener. The files hold no data and are public,
 * as a login page is; everything they show comes from the API with the bearer token the user
 * pastes (or passes as `#token=…`, a fragment no server sees), under that token's scope: a read
 * token watches, an admin token also stops sandboxes and applies approved policy changes.
 *
 * The page's content security policy allows only its own script and style and calls to its own
 * origin, so an agent-chosen host name or path that reached the page as markup still could not
 * run or load anything.
 */
export const DASHBOARD_PATH = '/dashboard';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** gateway/dashboard/ in the package, from source (tests) or from dist/ (the installed CLI). */
export function dashboardDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'gateway', 'dashboard');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('sluice: the dashboard files (gateway/dashboard/) are missing from this installation');
}

/** GET /dashboard and its two assets; read once, at start. */
export function dashboardRoutes(dir = dashboardDir()): Route[] {
  const files = new Map(Object.entries(FILES).map(([name, type]) => [name, { type, text: fs.readFileSync(path.join(dir, name), 'utf8') }]));
  const serve = (name: string) => {
    const file = files.get(name);
    if (!file) throw new SluiceError('SLUICE_API_NOT_FOUND', `no dashboard file ${JSON.stringify(name)}`);
    return { status: 200, text: file.text, contentType: file.type, headers: HEADERS };
  };
  return [
    {
      method: 'GET', path: DASHBOARD_PATH, scope: 'public', tags: ['dashboard'], summary: 'The browser dashboard (its data calls need a token)',
      responses: { 200: { description: 'the page', contentType: FILES['index.html'] } },
      handle: () => serve('index.html'),
    },
    {
      method: 'GET', path: `${DASHBOARD_PATH}/{file}`, scope: 'public', tags: ['dashboard'], summary: "The dashboard's script and style sheet",
      responses: { 200: { description: 'the file', contentType: 'text/javascript' }, 404: { description: 'no such file' } },
      handle: (req) => serve(req.params.file!),
    },
  ];
}
