import t from 'tap';
import { canonicalHost, parseAuthority, makeDestination } from '../../core/index.js';

t.test('names are canonicalised once: lowercase, IDNA, no trailing dot', async (t) => {
  t.equal(canonicalHost('API.GitHub.COM').host, 'api.github.com');
  t.equal(canonicalHost('api.github.com.').host, 'api.github.com');
  t.equal(canonicalHost('bücher.example').host, 'xn--bcher-kva.example');
  t.equal(canonicalHost('ＡＰＩ.example').host, 'api.example', 'full-width letters fold (IDNA mapping)');
  t.equal(canonicalHost('api.github.com').ipVersion, 0);
});

t.test('IPv4 literals in every spelling become dotted quads', async (t) => {
  for (const spelling of ['127.0.0.1', '2130706433', '0177.0.0.1', '0x7f.1', '127.1', '0x7f000001', '017700000001', '127.0.0.1.']) {
    const { host, ipVersion } = canonicalHost(spelling);
    t.equal(host, '127.0.0.1', spelling);
    t.equal(ipVersion, 4);
  }
  t.equal(canonicalHost('0xa9.0xfe.0xa9.0xfe').host, '169.254.169.254', 'metadata address in hex');
});

t.test('IPv6 literals are compressed; zone ids and garbage are refused', async (t) => {
  t.equal(canonicalHost('[0:0:0:0:0:0:0:1]').host, '::1');
  t.equal(canonicalHost('[::FFFF:127.0.0.1]').host, '::ffff:7f00:1');
  t.equal(canonicalHost('::1').ipVersion, 6);
  t.throws(() => canonicalHost('[fe80::1%eth0]'), /invalid destination/);
  t.throws(() => canonicalHost('[::1'), /invalid destination/);
  t.throws(() => canonicalHost('1:2'), /invalid destination/);
});

t.test('authorities: ports, brackets and smuggling attempts', async (t) => {
  t.same(parseAuthority('api.example.com:443'), { host: 'api.example.com', port: 443, ipVersion: 0, authority: 'api.example.com:443' });
  t.same(parseAuthority('[::1]:8443'), { host: '::1', port: 8443, ipVersion: 6, authority: '[::1]:8443' });
  t.equal(parseAuthority('example.com', 80).port, 80, 'default port');
  for (const bad of ['example.com', 'example.com:', 'example.com:0', 'example.com:65536', 'example.com:80x', 'user@example.com:443', 'a:b@example.com:443', 'example.com:443/path', 'exa mple.com:443', 'example.com\r\nX:1:443', '::1:443', '[::1]x:443', ':443', `${'a'.repeat(64)}.com:443`, `${'a.'.repeat(130)}com:443`]) {
    t.throws(() => parseAuthority(bad), { code: 'SLUICE_BAD_REQUEST' }, JSON.stringify(bad));
  }
  t.throws(() => makeDestination('example.com', 70000), { code: 'SLUICE_BAD_REQUEST' });
});
