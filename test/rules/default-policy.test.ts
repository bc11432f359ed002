import t from 'tap';
import { DEFAULT_POLICY_YAML, compilePolicy, formatPolicyError, parsePolicy } from '../../rules/index.js';
import { request } from './helpers.js';

const parsed = parsePolicy(DEFAULT_POLICY_YAML, '<default>');

t.test('the embedded default policy passes its own parser', async (t) => {
  t.same(parsed.errors.map(formatPolicyError), []);
  t.ok(parsed.policy);
  t.same(parsed.policy!.inference, {
    backends: { local: { type: 'ollama', url: 'http://127.0.0.1:11434' } },
    routes: [{ match: { model: '*' }, backend: 'local' }],
  });
});

t.test('the default policy allows GitHub, read-only where it makes sense, and nothing it does not name', async (t) => {
  const policy = compilePolicy(parsed.policy!);
  const cases: Array<[string, string, string]> = [
    ['GET', 'https://github.com/nodejs/node.git/info/refs?service=git-upload-pack', 'allow'],
    ['POST', 'https://github.com/nodejs/node.git/git-upload-pack', 'allow'],
    ['POST', 'https://github.com/nodejs/node.git/git-receive-pack', 'deny'],
    ['GET', 'https://api.github.com/repos/nodejs/node', 'allow'],
    ['POST', 'https://api.github.com/repos/nodejs/node/issues', 'deny'],
    ['GET', 'https://codeload.github.com/nodejs/node/tar.gz/main', 'allow'],
    ['GET', 'https://objects.githubusercontent.com/x', 'allow'],
    ['GET', 'https://example.com/', 'deny'],
    ['GET', 'https://docs.example.com/guide', 'deny'],
    ['GET', 'http://api.github.com/', 'deny'],
  ];
  for (const [method, url, expected] of cases) t.equal(request(policy, method, url).action, expected, `${method} ${url}`);
});

t.test('no network policy names an LLM provider host: the privacy router owns them, and routes everything local', async (t) => {
  const policy = compilePolicy(parsed.policy!);
  for (const url of ['https://api.openai.com/v1/chat/completions', 'https://api.anthropic.com/v1/messages', 'https://api.anthropic.com/api/event_logging/v2/batch']) {
    t.equal(request(policy, 'POST', url).code, 'policy_denied', url);
  }
  t.notOk(parsed.policy!.inference!.routes.some((r) => r.action === 'allow'), 'no route lets a call out');
});
