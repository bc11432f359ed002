import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { Ollama } from 'ollama';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { createToken, dashboardRoutes } from '../../gateway/index.js';
import { createFakeOllama } from '../fakes/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

/**
 * The dashboard in a real Chromium (Debian's, driven by playwright-core) against a real gateway:
 * the page loads with a token, a denial made by curl through the proxy appears live, its
 * proposed rule is shown as a diff and, once approved, lets curl's next request through. An
 * agent-chosen path that looks like markup stays text. The screenshot in the README is taken
 * here (written to docs/ with SLUICE_UPDATE_SCREENSHOT=1).
 */
t.setTimeout(240_000);
const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const upstream = await startUpstream();
const ollama = await createFakeOllama({ models: ['qwen3:8b'], reply: { text: 'Hello.', usage: { input: 21, output: 13 } } });
const gw = await startTestGateway({
  routes: dashboardRoutes(),
  api: { host: '127.0.0.1', port: 0 },
  resolve: { 'api.github.com': '127.0.0.1' },
  policyYaml: `version: 1
network_policies:
  docs:
    endpoints: [{ host: docs.example.com, port: 443 }]
inference:
  backends:
    local: { type: ollama, url: "${ollama.url}" }
  routes:
    - { name: llama-local, match: { api: ollama, model: "llama*" }, backend: local, model: "qwen3:8b" }
privacy:
  redact: [email]
`,
});
const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
t.teardown(async () => {
  await browser.close();
  await gw.close();
  await Promise.all([upstream.close(), ollama.close()]);
});

const curl = (url: string) => run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', gw.gateway.url, url]).then((r) => r.stdout);
const target = `http://api.github.com:${upstream.port}`;
const pageErrors = new WeakMap<Page, string[]>();
const noScriptErrors = (t: Test, page: Page) => t.same(pageErrors.get(page), [], 'no script errors on the page');

async function open(t: Test, token: string | undefined): Promise<Page> {
  // The API's certificate is from Sluice's CA, which this throwaway browser profile does not trust.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 1000 } });
  t.teardown(() => context.close());
  const url = `${gw.gateway.apiUrl}/dashboard${token ? `#token=${token}` : ''}`;
  // Chromium aborts a navigation, or any request of the page (its script, its first API call), when
  // the host's interfaces change, and sandboxes tested alongside add and remove veths all the time:
  // a page load cut that way is tried again in a new tab, as a user would reload it.
  for (let attempt = 1; ; attempt++) {
    const page = await context.newPage();
    const errors: string[] = [];
    const cut: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('requestfailed', (req) => {
      if (/ERR_NETWORK_CHANGED/.test(req.failure()?.errorText ?? '')) cut.push(req.url());
    });
    // Checked before the test ends (an assertion in a teardown comes too late for tap).
    pageErrors.set(page, errors);
    try {
      await page.goto(url);
      // the script has run once the page shows the login form or its data (a locator, not a
      // waitForFunction string: the page's CSP refuses the eval Playwright runs a string with)
      await page.locator('#login:visible, #main:visible').first().waitFor({ timeout: 30_000 });
      if (cut.length === 0) return page;
      if (attempt >= 5) throw new Error(`requests cut by network changes on every try: ${cut.join(', ')}`);
    } catch (err) {
      if (attempt >= 5 || (cut.length === 0 && !/ERR_NETWORK_CHANGED/.test((err as Error).message))) throw err;
    }
    t.comment(`page load ${attempt} cut by a network change (${cut.join(', ') || url}): loading it again`);
    await page.close();
  }
}

t.test('without a token: the page asks for one and shows no data; a wrong one is refused', async (t) => {
  const page = await open(t, undefined);
  await page.locator('#login').waitFor({ state: 'visible' });
  t.equal(await page.locator('#main').isVisible(), false);
  await page.fill('#token', 'not-a-token');
  await page.click('#login-form button');
  await page.locator('#login-error', { hasText: 'not valid' }).waitFor();
  const res = await page.evaluate(async () => (await fetch('/v1/sandboxes')).status);
  t.equal(res, 401, 'the data API refuses the browser without a token');
  noScriptErrors(t, page);
});

t.test('a denial appears live; approving its proposed rule lets the next request through', async (t) => {
  const { token } = await createToken(gw.home, 'admin', 'dashboard-test');
  const page = await open(t, token);
  await page.locator('#connection', { hasText: 'live' }).waitFor();
  t.equal(new URL(page.url()).hash, '', 'the token leaves the address bar at once');

  t.equal(await curl(`${target}/repos/sluice/issues`), '403', 'refused before');
  const denial = page.locator('li.denial', { hasText: `api.github.com:${upstream.port}/repos/sluice/issues` });
  await denial.waitFor();
  t.match(await denial.textContent(), /policy_denied/);

  // An LLM call for the table, and a row for the screenshot.
  const dispatcher = new ProxyAgent({ uri: gw.gateway.url });
  t.teardown(() => dispatcher.close());
  const viaProxy = ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher } as never)) as unknown as typeof globalThis.fetch;
  await new Ollama({ host: 'http://inference.local', fetch: viaProxy }).chat({ model: 'llama3', messages: [{ role: 'user', content: 'Mail ada@example.com' }] });
  const llmRow = page.locator('#llm tbody tr', { hasText: 'llama-local' });
  await llmRow.waitFor();
  const cells = await llmRow.locator('td').allTextContents();
  t.same(cells.slice(2, 7), ['llama-local', 'local', 'qwen3:8b', '21', '13'], 'route, backend, model, tokens');
  t.equal(cells[9], 'email×1', 'redaction counts');

  await denial.locator('button.propose').click();
  const diff = denial.locator('pre.diff');
  await diff.waitFor();
  t.match(await diff.textContent(), new RegExp(`\\+.*host: api\\.github\\.com[\\s\\S]*port: ${upstream.port}`), 'the diff adds the endpoint');
  t.equal(await curl(`${target}/repos/sluice/issues`), '403', 'nothing applies before the human approves');

  if (process.env.SLUICE_UPDATE_SCREENSHOT === '1') await page.screenshot({ path: path.join(root, 'docs', 'dashboard.png'), fullPage: false });
  else t.ok((await page.screenshot()).subarray(1, 4).equals(Buffer.from('PNG')), 'a screenshot can be taken');

  await denial.locator('button.approve').click();
  // The page shows "applied" or the API's error: wait for either, so that a failure says which.
  const outcome = denial.locator('.applied, .error');
  await outcome.waitFor();
  t.match(await outcome.getAttribute('class'), /applied/, `the page says: ${await outcome.textContent()}`);
  t.equal(await curl(`${target}/repos/sluice/issues`), '200', 'the approved rule lets the same request through');
  const policy = await gw.call('GET', '/v1/policy');
  t.match(policy.json.yaml, /host: api\.github\.com/, 'the default policy holds the rule');
  t.match(fs.readFileSync(path.join(gw.home, 'policy.yaml'), 'utf8'), /host: api\.github\.com/, 'and its file');

  // Filters: only denials, then only LLM calls.
  await page.selectOption('#filter-verdict', 'deny');
  t.ok((await page.locator('#events tbody tr').allTextContents()).every((row) => row.includes('deny')));
  await page.selectOption('#filter-verdict', '');
  await page.selectOption('#filter-type', 'llm_call');
  await page.locator('#events tbody tr[data-type="llm_call"]').first().waitFor();
  t.equal(await page.locator('#events tbody tr:not([data-type="llm_call"])').count(), 0);
  noScriptErrors(t, page);
});

t.test('a read token watches but cannot apply', async (t) => {
  const { token } = await createToken(gw.home, 'read', 'dashboard-reader');
  const page = await open(t, token);
  await page.locator('#connection', { hasText: 'live' }).waitFor();
  t.equal(await curl('http://blocked.example.com/v1/x'), '403');
  const denial = page.locator('li.denial', { hasText: 'blocked.example.com' }).first();
  await denial.waitFor();
  await denial.locator('button.propose').click();
  await denial.locator('button.approve').click();
  await denial.locator('.error', { hasText: 'admin token' }).waitFor();
  t.notMatch((await gw.call('GET', '/v1/policy')).json.yaml, /blocked\.example\.com/);
  noScriptErrors(t, page);
});

t.test('agent-chosen text is never markup', async (t) => {
  const { token } = await createToken(gw.home, 'read', 'dashboard-xss');
  const page = await open(t, token);
  await page.locator('#connection', { hasText: 'live' }).waitFor();
  const evil = '/%3Cimg%20src=x%20onerror=window.pwned=1%3E';
  t.equal(await curl(`http://evil.example.com${evil}`), '403');
  const denial = page.locator('li.denial', { hasText: 'evil.example.com' }).first();
  await denial.waitFor();
  t.equal(await page.locator('li.denial img').count(), 0, 'no element was made from the path');
  t.equal(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned), undefined);
  const headers = (await page.request.get(`${gw.gateway.apiUrl}/dashboard`)).headers();
  t.match(headers['content-security-policy'], /script-src 'self'/);
  t.equal(headers['x-frame-options'], 'DENY');
  noScriptErrors(t, page);
});
