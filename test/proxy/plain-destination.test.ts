import t from 'tap';
import { parseAuthority } from '../../core/index.js';
import { parseAbsolute } from '../../proxy/target.js';

/**
 * Plain proxy requests keep the destination parsed for an authority (proxy/target.ts): the kept
 * object must be exactly what a fresh parse gives for every spelling, asked in any order and
 * again, shared only by the same spelling, unchangeable, and a bad authority must be refused
 * every time it comes (never kept, never answered from another spelling's entry).
 */
const spellings = [
  'api.example.com', 'API.Example.COM', 'api.example.com.', 'api.example.com:80', 'api.example.com:8080',
  '127.0.0.1', '127.1', '2130706433', '0x7f.1:8080', '[::1]', '[0:0:0:0:0:0:0:1]:80', '[::ffff:127.0.0.1]:9000',
  'bücher.example', 'xn--bcher-kva.example:81', '169.254.169.254', '0xa9.0xfe.0xa9.0xfe',
];
const bad = ['', ':80', 'api.example.com:0', 'api.example.com:65536', 'api.example.com:x', '[fe80::1%eth0]', '[::1', '1:2:3', 'a..b', 'exa mple.com', 'host:80:80'];

t.test('a kept destination is what a fresh parse gives, for every spelling, in any order and again', async (t) => {
  for (const round of [0, 1, 2]) {
    const order = round === 1 ? [...spellings].reverse() : spellings;
    for (const authority of order) {
      const { dest, target } = parseAbsolute(`http://${authority}/p?q=1`);
      t.same(dest, parseAuthority(authority, 80), `${authority} (round ${round})`);
      t.equal(target, '/p?q=1');
    }
  }
  const a = parseAbsolute('http://api.example.com/a').dest;
  t.equal(parseAbsolute('http://api.example.com/b?x').dest, a, 'the same spelling shares one object');
  t.not(parseAbsolute('http://API.example.com/a').dest, a, 'another spelling has its own');
  t.same(parseAbsolute('http://API.example.com/a').dest, a, '… with the same canonical fields');
});

t.test('a kept destination cannot be changed by a request', async (t) => {
  const dest = parseAbsolute('http://api.example.com:8443/').dest;
  t.ok(Object.isFrozen(dest));
  t.throws(() => {
    (dest as { host: string }).host = 'metadata.example';
  }, TypeError);
  t.equal(parseAbsolute('http://api.example.com:8443/').dest.host, 'api.example.com');
});

t.test('a bad authority is refused each time it comes, before and after good ones', async (t) => {
  for (const round of [0, 1]) {
    for (const authority of bad) {
      t.throws(() => parseAbsolute(`http://${authority}/`), { code: 'SLUICE_BAD_REQUEST' }, `"${authority}" (round ${round})`);
      parseAbsolute('http://api.example.com/');
    }
  }
  t.throws(() => parseAbsolute('http://user@api.example.com/'), /userinfo/);
});

t.test('more authorities than are kept: each still parses to itself', async (t) => {
  for (let i = 0; i < 3000; i++) {
    const authority = `h${i}.example.com:${1 + (i % 65535)}`;
    const { dest } = parseAbsolute(`http://${authority}/`);
    if (dest.host !== `h${i}.example.com` || dest.port !== 1 + (i % 65535)) t.fail(`${authority} -> ${dest.authority}`);
  }
  t.same(parseAbsolute('http://h0.example.com:1/').dest, parseAuthority('h0.example.com:1', 80), 'an early one, dropped and parsed again');
});

t.test('only authorities a host name and port can fill are kept', async (t) => {
  // IDNA maps U+00AD (soft hyphen) to nothing: a valid authority far longer than any canonical one.
  const long = `api${'\u00ad'.repeat(400)}.example.com`;
  const first = parseAbsolute(`http://${long}/`).dest;
  t.equal(first.authority, 'api.example.com:80');
  t.not(parseAbsolute(`http://${long}/`).dest, first, 'parsed again each time, never kept');
  const host = Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.');
  t.equal(parseAbsolute(`http://${host}:65535/`).dest, parseAbsolute(`http://${host}:65535/`).dest, 'the longest ordinary authorities are kept');
});
