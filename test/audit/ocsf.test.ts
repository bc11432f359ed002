import t from 'tap';
import { OCSF_VERSION, toOcsf, ocsfLine } from '../../audit/index.js';
import {
  T0,
  allEvents,
  connectAllowed,
  connectDenied,
  connectSsrf,
  finding,
  llmCall,
  policyLoaded,
  policyRejected,
  requestAllowed,
  requestAudited,
  requestDenied,
  upstreamError,
} from './events.js';

t.test('every record carries the OCSF base attributes, consistently', async (t) => {
  for (const event of allEvents) {
    const r = toOcsf(event);
    const label = `${event.type} @${event.time - T0}`;
    for (const key of ['time', 'class_uid', 'class_name', 'category_uid', 'category_name', 'activity_id', 'activity_name', 'type_uid', 'severity_id', 'action_id', 'action', 'disposition_id', 'disposition', 'metadata', 'message']) {
      t.ok(key in r, `${label} has ${key}`);
    }
    t.equal(r.time, event.time, `${label}: time is the event's ms epoch`);
    t.equal(r.type_uid, (r.class_uid as number) * 100 + (r.activity_id as number), `${label}: type_uid`);
    t.match(r.metadata, { version: OCSF_VERSION, product: { name: 'Sluice' } });
    t.notMatch(JSON.stringify(r), /\?|access_token|SECRET123|api-version/, `${label}: no query string anywhere`);
  }
});

t.test('toOcsf is pure', async (t) => {
  for (const event of allEvents) {
    const before = JSON.stringify(event);
    t.same(toOcsf(event), toOcsf(event));
    t.equal(JSON.stringify(event), before, 'event not mutated');
  }
});

t.test('CONNECT allowed → Network Activity Open, Allowed', async (t) => {
  t.match(toOcsf(connectAllowed), {
    class_uid: 4001,
    class_name: 'Network Activity',
    category_uid: 4,
    activity_id: 1,
    activity_name: 'Open',
    type_uid: 400101,
    severity_id: 1,
    action_id: 1,
    action: 'Allowed',
    disposition_id: 1,
    disposition: 'Allowed',
    src_endpoint: { ip: '127.0.0.1', port: 50_000 },
    dst_endpoint: { hostname: 'api.github.com', ip: '140.82.112.6', port: 443 },
    policy: { name: 'github' },
    message: 'endpoint api.github.com:443 of policy github',
    unmapped: { code: 'allowed', rule: 'api.github.com:443', mode: 'intercept' },
  });
});

t.test('CONNECT denied → Network Activity Refuse, Denied/Blocked', async (t) => {
  t.match(toOcsf(connectDenied), {
    class_uid: 4001,
    activity_id: 5,
    activity_name: 'Refuse',
    type_uid: 400105,
    action_id: 2,
    action: 'Denied',
    disposition_id: 2,
    disposition: 'Blocked',
    status_id: 2,
    dst_endpoint: { hostname: 'evil.example', port: 443 },
    policy: { name: 'default-deny' },
    message: 'no policy allows evil.example:443',
    unmapped: { code: 'policy_denied' },
  });
  const ssrf = toOcsf(connectSsrf);
  t.match(ssrf, { severity_id: 3, dst_endpoint: { hostname: '169.254.169.254', ip: '169.254.169.254', port: 80 }, unmapped: { code: 'ssrf_denied' } });
  t.ok((ssrf.severity_id as number) > (toOcsf(connectDenied).severity_id as number), 'SSRF attempts rank above plain denials');
});

t.test('requests → HTTP Activity by method, path without query', async (t) => {
  const allowed = toOcsf(requestAllowed);
  t.match(allowed, {
    class_uid: 4002,
    class_name: 'HTTP Activity',
    category_uid: 4,
    activity_id: 3,
    activity_name: 'Get',
    type_uid: 400203,
    action_id: 1,
    disposition_id: 1,
    http_request: { http_method: 'GET', url: { hostname: 'api.github.com', path: '/repos/o/r', port: 443, scheme: 'https', url_string: 'https://api.github.com:443/repos/o/r' } },
    http_response: { code: 200 },
    duration: 12.4,
    policy: { name: 'github', desc: 'GET /repos/**' },
    unmapped: { rule: 'GET /repos/**' },
  });
  t.equal((allowed.http_request as { url: { path: string } }).url.path, '/repos/o/r', 'query and fragment stripped');
  t.equal(allowed.message, 'GET /repos/o/r matches read-only', 'query scrubbed from the reason too');

  t.match(toOcsf(requestDenied), { activity_id: 6, activity_name: 'Post', type_uid: 400206, action_id: 2, action: 'Denied', disposition_id: 2, unmapped: { code: 'l7_denied', rule: 'access: read-only' } });
  t.match(toOcsf({ ...requestDenied, method: 'patch' }), { activity_id: 9, activity_name: 'Patch', http_request: { http_method: 'PATCH' } });

  const audited = toOcsf(requestAudited);
  t.match(audited, { activity_id: 99, activity_name: 'PROPFIND', type_uid: 400299, action_id: 1, action: 'Allowed', disposition_id: 17, disposition: 'Logged', unmapped: { audited: true, code: 'l7_denied' } });
  t.notOk('http_response' in audited, 'unknown members are left out, not null');
});

t.test('llm_call → HTTP Activity with usage in unmapped', async (t) => {
  t.match(toOcsf(llmCall), {
    class_uid: 4002,
    activity_id: 6,
    type_uid: 400206,
    action_id: 4,
    action: 'Modified',
    disposition: 'Routed',
    http_request: { http_method: 'POST', url: { hostname: 'api.openai.com', path: '/v1/chat/completions', scheme: 'https' } },
    http_response: { code: 200 },
    duration: 950,
    unmapped: {
      llm: { api: 'openai-chat', requested_model: 'gpt-4o', backend: 'local', backend_model: 'qwen3:8b', route: 'default', stream: true, input_tokens: 120, output_tokens: 48, ttft_ms: 80, redactions: { email: 2 } },
    },
  });
  t.match(toOcsf({ ...llmCall, action: 'deny', reason: 'model not allowed' }), { action_id: 2, disposition_id: 2, message: 'model not allowed' });
  t.match(toOcsf({ ...llmCall, action: 'allow' }), { action_id: 1, disposition_id: 1 });
});

t.test('policy loaded/rejected → Device Config State Change', async (t) => {
  t.match(toOcsf(policyLoaded), {
    class_uid: 5019,
    class_name: 'Device Config State Change',
    category_uid: 5,
    activity_id: 1,
    activity_name: 'Log',
    type_uid: 501901,
    severity_id: 1,
    status_id: 1,
    action_id: 1,
    policy: { name: 'policy.yaml', uid: '/etc/sluice/policy.yaml' },
    message: '3 policies, 7 endpoints',
  });
  t.match(toOcsf(policyRejected), {
    class_uid: 5019,
    type_uid: 501901,
    severity_id: 3,
    status_id: 2,
    status: 'Failure',
    action_id: 2,
    disposition_id: 25,
    disposition: 'Rejected',
    unmapped: { activity: 'rejected', errors: ['policy.yaml:3:5: unknown key "hots"', 'policy.yaml:9:1: bad value\nwith a newline'] },
  });
  t.match(toOcsf({ type: 'policy', time: T0, activity: 'loaded', reason: 'default' }), { policy: { name: 'embedded default' } });
});

t.test('upstream errors → Network Activity Fail', async (t) => {
  t.match(toOcsf(upstreamError), {
    class_uid: 4001,
    activity_id: 4,
    activity_name: 'Fail',
    type_uid: 400104,
    status_id: 2,
    status_code: 'upstream_tls_failed',
    disposition: 'Error',
    dst_endpoint: { hostname: 'self-signed.example', ip: '127.0.0.2', port: 443 },
    message: 'certificate verify failed: self-signed certificate',
  });
});

t.test('findings → Detection Finding', async (t) => {
  const r = toOcsf(finding);
  t.match(r, {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    activity_id: 1,
    activity_name: 'Create',
    type_uid: 200401,
    severity_id: 4,
    action_id: 2,
    disposition_id: 2,
    finding_info: { title: 'credential_endpoint_mismatch', types: ['credential_endpoint_mismatch'], desc: 'placeholder for github sent to paste.example' },
    evidences: [{ src_endpoint: { ip: '127.0.0.1' }, dst_endpoint: { hostname: 'paste.example', port: 443 } }],
    unmapped: { kind: 'credential_endpoint_mismatch', subjects: ['github'] },
  });
  t.match((r.finding_info as { uid: string }).uid, /^[0-9a-f]{32}$/);
  t.not((toOcsf({ ...finding, time: T0 + 11 }).finding_info as { uid: string }).uid, (r.finding_info as { uid: string }).uid, 'distinct findings, distinct uids');
  t.match(toOcsf({ ...finding, action: 'redacted' }), { action_id: 4, action: 'Modified', disposition_id: 11 });
});

t.test('the JSONL line is the compact record, whatever the event', async (t) => {
  for (const event of allEvents) t.same(JSON.parse(ocsfLine(event)), toOcsf(event), event.type);
});
