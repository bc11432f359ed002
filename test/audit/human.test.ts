import t from 'tap';
import { formatHuman } from '../../audit/index.js';
import {
  allEvents,
  connectAllowed,
  connectDenied,
  finding,
  llmCall,
  policyLoaded,
  policyRejected,
  requestAllowed,
  requestAudited,
  requestDenied,
  upstreamError,
} from './events.js';

t.test('one line per event, never a query string', async (t) => {
  for (const event of allEvents) {
    const line = formatHuman(event);
    t.notMatch(line, /[\r\n]/, `${event.type}: single line`);
    t.notMatch(line, /\?|SECRET123|api-version/, `${event.type}: no query`);
    t.match(line, /^2026-03-01T12:00:00\.0\d\dZ /, `${event.type}: starts with an ISO time`);
  }
});

t.test('the lines read as sentences', async (t) => {
  t.equal(formatHuman(connectAllowed), '2026-03-01T12:00:00.000Z ALLOW   CONNECT api.github.com:443 intercept [github api.github.com:443] src=127.0.0.1:50000');
  t.equal(formatHuman(connectDenied), '2026-03-01T12:00:00.001Z DENY    CONNECT evil.example:443 policy_denied: no policy allows evil.example:443 src=127.0.0.1:50001');
  t.equal(formatHuman(requestAllowed), '2026-03-01T12:00:00.003Z ALLOW   GET https://api.github.com:443/repos/o/r -> 200 12ms [github GET /repos/**] src=127.0.0.1:50000');
  t.equal(
    formatHuman(requestDenied),
    '2026-03-01T12:00:00.004Z DENY    POST https://api.github.com:443/repos/o/r/issues -> 403 [github access: read-only] l7_denied: POST is not allowed by read-only access src=127.0.0.1:50000',
  );
  t.match(formatHuman(requestAudited), / AUDIT {3}PROPFIND https:\/\/pkgs\.example\.com:443\/simple\/ \[pkgs\] l7_denied: PROPFIND would be denied/);
  t.equal(formatHuman(policyLoaded), '2026-03-01T12:00:00.006Z POLICY  loaded /etc/sluice/policy.yaml 3 policies, 7 endpoints');
  t.match(formatHuman(policyRejected), / POLICY {2}REJECTED \/etc\/sluice\/policy\.yaml invalid policy; keeping the previous one \(2 errors: policy\.yaml:3:5: unknown key "hots"; policy\.yaml:9:1: bad value with a newline\)$/);
  t.equal(formatHuman(upstreamError), '2026-03-01T12:00:00.008Z ERROR   upstream self-signed.example:443 upstream_tls_failed: certificate verify failed: self-signed certificate src=127.0.0.1:50004');
  t.equal(formatHuman(llmCall), '2026-03-01T12:00:00.009Z LLM     route openai-chat gpt-4o -> local qwen3:8b stream 200 tokens in=120 out=48 950ms redacted email=2');
  t.equal(formatHuman(finding), '2026-03-01T12:00:00.010Z FINDING blocked credential_endpoint_mismatch [github] paste.example:443 placeholder for github sent to paste.example src=127.0.0.1:50006');
});

t.test('hostile text cannot forge a second line', async (t) => {
  const line = formatHuman({ ...connectDenied, decision: { ...connectDenied.decision, reason: 'x\n2026-03-01T12:00:00.000Z ALLOW   CONNECT forged\r\u2028' } });
  t.notMatch(line, /[\r\n\u2028]/);
  t.equal(line.split('\n').length, 1);
});

t.test('IPv6 destinations are bracketed', async (t) => {
  t.match(formatHuman({ ...connectDenied, dst: { host: '2001:db8::1', port: 443 } }), / CONNECT \[2001:db8::1\]:443 /);
});
