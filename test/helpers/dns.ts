import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A tiny authoritative DNS server on 127.0.0.1:0 for SSRF tests: answers A/AAAA queries from a
 * table that a test may change between queries (to play a rebinding attacker). Every name not
 * in the table gets NXDOMAIN. Answers carry `ttl` seconds (default 0: every lookup asks again,
 * as a rebinding attacker wants).
 */
export interface TestDns {
  address: string;
  records: Map<string, string[]>;
  queries: string[];
  close(): Promise<void>;
}

export async function startTestDns(records: Record<string, string[]> = {}, opts: { ttl?: number } = {}): Promise<TestDns> {
  const table = new Map(Object.entries(records).map(([k, v]) => [k.toLowerCase(), v]));
  const queries: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    try {
      const reply = answer(msg, table, queries, opts.ttl ?? 0);
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    } catch {
      // Malformed query: drop it, as a real server would.
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  return {
    address: `127.0.0.1:${port}`,
    records: table,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function answer(msg: Buffer, table: Map<string, string[]>, queries: string[], ttl: number): Buffer | undefined {
  if (msg.length < 12) return undefined;
  const id = msg.readUInt16BE(0);
  let offset = 12;
  const labels: string[] = [];
  while (offset < msg.length) {
    const len = msg[offset]!;
    offset++;
    if (len === 0) break;
    labels.push(msg.subarray(offset, offset + len).toString('ascii'));
    offset += len;
  }
  const qtype = msg.readUInt16BE(offset);
  const question = msg.subarray(12, offset + 4);
  const name = labels.join('.').toLowerCase();
  queries.push(`${name}/${qtype === 28 ? 'AAAA' : qtype === 1 ? 'A' : qtype}`);
  const all = table.get(name);
  const wanted = (all ?? []).filter((ip) => (qtype === 1 ? net.isIPv4(ip) : qtype === 28 ? net.isIPv6(ip) : false));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8400 | (all ? 0 : 3), 2); // QR, AA, rcode NOERROR or NXDOMAIN
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(wanted.length, 6);
  const answers = wanted.map((ip) => {
    const rdata = qtype === 1 ? Buffer.from(ip.split('.').map(Number)) : ipv6Bytes(ip);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...answers]);
}

function ipv6Bytes(address: string): Buffer {
  // A trailing dotted quad (::ffff:127.0.0.1) is two more words.
  const ip = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(parseInt(w || '0', 16), i * 2));
  return out;
}
