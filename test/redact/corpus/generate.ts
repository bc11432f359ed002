/**
 * Generates the labeled accuracy corpus: faker (fixed seed) samples plus hand-written hard cases.
 * Run: npx tsx test/redact/corpus/generate.ts   (rewrites corpus.jsonl next to this file)
 *
 * Labeling policy (what counts as an entity): loopback, unspecified and netmask IPs are not PII;
 * version strings and OIDs are not IPs; numbers failing Luhn / mod-97 / SSN ranges are not entities;
 * for `password=`/URL credentials only the secret part is the entity; placeholders are not entities.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { faker } from '@faker-js/faker';
import { HARD_CASES } from './hard-cases.js';

export interface CorpusEntity {
  type: string;
  start: number;
  end: number;
}
export interface CorpusSample {
  id: string;
  kind: 'faker' | 'hard';
  text: string;
  entities: CorpusEntity[];
}

type Part = string | { type: string; value: string };

function build(id: string, kind: CorpusSample['kind'], parts: Part[]): CorpusSample {
  let text = '';
  const entities: CorpusEntity[] = [];
  for (const p of parts) {
    if (typeof p === 'string') text += p;
    else {
      entities.push({ type: p.type, start: text.length, end: text.length + p.value.length });
      text += p.value;
    }
  }
  return { id, kind, text, entities };
}

/** `⟦type:value⟧` marks an entity inside a hand-written case. */
export function parseMarked(id: string, marked: string): CorpusSample {
  const parts: Part[] = [];
  const re = /⟦([a-z_0-9]+):([\s\S]*?)⟧/g;
  let at = 0;
  for (let m = re.exec(marked); m !== null; m = re.exec(marked)) {
    parts.push(marked.slice(at, m.index), { type: m[1]!, value: m[2]! });
    at = m.index + m[0].length;
  }
  parts.push(marked.slice(at));
  return build(id, 'hard', parts);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const chars = (set: string, n: number) => faker.string.fromCharacters(set, n);
const e = (type: string, value: string): Part => ({ type, value });

const gen = {
  email: () => e('email', faker.internet.email()),
  phone: () => e('phone', faker.helpers.arrayElement([faker.phone.number(), faker.phone.number({ style: 'international' }), faker.phone.number({ style: 'national' })])),
  card: () => e('credit_card', faker.finance.creditCardNumber()),
  ssn: () => {
    let area = faker.number.int({ min: 1, max: 899 });
    if (area === 666) area = 667;
    const v = `${String(area).padStart(3, '0')}-${String(faker.number.int({ min: 1, max: 99 })).padStart(2, '0')}-${String(faker.number.int({ min: 1, max: 9999 })).padStart(4, '0')}`;
    return e('us_ssn', v);
  },
  iban: () => e('iban', faker.finance.iban({ formatted: faker.datatype.boolean() })),
  ipv4: () => {
    let ip = faker.internet.ipv4();
    while (/^(?:127|0|255)\./.test(ip)) ip = faker.internet.ipv4();
    return e('ip_address', ip);
  },
  ipv6: () => e('ip_address', faker.internet.ipv6()),
  aws: () => e('aws_access_key', 'AKIA' + chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)),
  awsSecret: () => e('aws_secret_key', chars(B64, 40)),
  github: () =>
    faker.datatype.boolean({ probability: 0.8 })
      ? e('github_token', faker.helpers.arrayElement(['ghp_', 'gho_', 'ghs_', 'ghu_', 'ghr_']) + chars(ALNUM, 36))
      : e('github_token', 'github_pat_' + chars(ALNUM + '_', 82)),
  openai: () =>
    faker.datatype.boolean()
      ? e('openai_key', 'sk-proj-' + chars(ALNUM + '-_', 74) + 'T3BlbkFJ' + chars(ALNUM + '-_', 74))
      : e('openai_key', 'sk-' + chars(ALNUM, 48)),
  anthropic: () => e('anthropic_key', 'sk-ant-api03-' + chars(ALNUM + '-_', 93) + 'AA'),
  slack: () => e('slack_token', `xoxb-${faker.string.numeric(12)}-${faker.string.numeric(13)}-${chars(ALNUM, 24)}`),
  stripe: () => e('stripe_key', faker.helpers.arrayElement(['sk_live_', 'rk_live_']) + chars(ALNUM, 24)),
  google: () => e('google_api_key', 'AIza' + chars(ALNUM + '-_', 35)),
  jwt: () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const payload = { sub: faker.string.uuid(), name: faker.person.fullName(), iat: faker.number.int({ min: 1.6e9, max: 1.8e9 }) };
    return e('jwt', `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}.${Buffer.from(faker.string.alphanumeric(32)).toString('base64url')}`);
  },
  pem: () => {
    const lines = Array.from({ length: faker.number.int({ min: 4, max: 12 }) }, () => chars(B64, 64));
    const kind = faker.helpers.arrayElement(['', 'RSA ', 'EC ', 'OPENSSH ']);
    return e('private_key', `-----BEGIN ${kind}PRIVATE KEY-----\n${lines.join('\n')}\n-----END ${kind}PRIVATE KEY-----`);
  },
  password: () => e('generic_secret', chars(ALNUM + '!@#%^&*-_', faker.number.int({ min: 12, max: 24 }))),
  urlCreds: () => e('url_credentials', `${faker.internet.username().replace(/[^A-Za-z0-9_]/g, '')}:${chars(ALNUM, 14)}`),
};

const TEMPLATES: Array<() => Part[]> = [
  () => [`Hi, I'm ${faker.person.fullName()}. You can reach me at `, gen.email(), ' or call ', gen.phone(), '.'],
  () => ['Customer record: name=', faker.person.fullName(), ', card ', gen.card(), `, expires ${faker.date.future().toISOString().slice(0, 7)}.`],
  () => ['Please update my SSN to ', gen.ssn(), ` — thanks, ${faker.person.firstName()}`],
  () => ['Wire the refund to IBAN ', gen.iban(), ` (${faker.company.name()}).`],
  () => ['The request came from ', gen.ipv4(), ` at ${faker.date.recent().toISOString()} and was retried from `, gen.ipv6(), '.'],
  () => ['# .env\nAWS_ACCESS_KEY_ID=', gen.aws(), '\nAWS_SECRET_ACCESS_KEY=', gen.awsSecret(), `\nAWS_REGION=${faker.helpers.arrayElement(['us-east-1', 'eu-west-1'])}\n`],
  () => ['git remote set-url origin https://x-access-token:', gen.github(), `@github.com/${faker.internet.username()}/repo.git`],
  () => ['const client = new OpenAI({ apiKey: "', gen.openai(), '" });\n// TODO: move to env'],
  () => ['export ANTHROPIC_API_KEY=', gen.anthropic(), '\nclaude --model sonnet'],
  () => ['SLACK_BOT_TOKEN: "', gen.slack(), `"\nchannel: "#${faker.word.noun()}"`],
  () => [`stripe.api_key = '`, gen.stripe(), `'\ncustomer = stripe.Customer.create(email="`, gen.email(), `")`],
  () => ['<script src="https://maps.googleapis.com/maps/api/js?key=', gen.google(), '"></script>'],
  () => ['curl -H "Authorization: Bearer ', gen.jwt(), `" https://api.${faker.internet.domainName()}/v1/me`],
  () => ['Here is the deploy key, do not share:\n', gen.pem(), '\n'],
  () => ['db:\n  host: db.internal\n  user: app\n  password: "', gen.password(), '"\n'],
  () => ['DATABASE_URL=postgres://', gen.urlCreds(), `@${faker.internet.domainName()}:5432/app`],
  () => [`Привет! Меня зовут ${faker.person.firstName()}, пиши на `, gen.email(), ' или звони ', gen.phone(), ' 🙂'],
  () => ['お問い合わせ: ', gen.email(), ' / 電話 ', gen.phone(), ' までご連絡ください。'],
  () => [`Kunde ${faker.person.lastName()} (München), IBAN `, gen.iban(), ', Karte ', gen.card(), ' ✔'],
  () => [
    `Ticket #${faker.number.int({ max: 99999 })}: user `, gen.email(), ' reports login failures from ', gen.ipv4(),
    `. ${faker.lorem.sentence()} Callback number: `, gen.phone(), '.',
  ],
  () => [`${faker.lorem.paragraph()} Contact `, gen.email(), `. ${faker.lorem.sentences(2)}`],
  () => [`{"user": {"email": "`, gen.email(), `", "ssn": "`, gen.ssn(), `", "ip": "`, gen.ipv4(), `"}, "note": "${faker.lorem.words(6)}"}`],
  () => [`import requests\nheaders = {"X-Api-Key": "`, gen.github(), `"}\nr = requests.get("https://api.github.com/user", headers=headers)\nprint(r.json())`],
];

/** Text without entities that trips naive patterns: versions, user agents, ids, hashes, numbers. */
const NEGATIVE_TEMPLATES: Array<() => Part[]> = [
  () => [`${faker.internet.userAgent()}`],
  () => [`Released ${faker.system.semver()}.${faker.number.int(99)} (build ${faker.string.numeric(8)}) on ${faker.date.past().toISOString()}`],
  () => [`MAC ${faker.internet.mac()} uuid ${faker.string.uuid()} commit ${faker.git.commitSha()}`],
  () => [`const ${faker.hacker.noun().replace(/\W/g, '')}Id = "${faker.string.alphanumeric(40)}"; // ${faker.hacker.phrase()}`],
  () => [`GET ${faker.internet.url()}/${faker.system.filePath()} ${faker.internet.httpStatusCode()} ${faker.number.int({ max: 99999 })}ms`],
  () => [`${faker.lorem.paragraph()} Total: ${faker.finance.amount()} ${faker.finance.currencyCode()}, account ${faker.finance.accountNumber()}.`],
  () => [`color: ${faker.color.rgb()}; z-index: ${faker.number.int(9999)}; order ${faker.string.numeric(11)}`],
  () => [`pip install ${faker.word.noun()}==${faker.system.semver()}.${faker.number.int(9)} && npm i ${faker.word.noun()}@${faker.system.semver()}`],
];

export function generateCorpus(): CorpusSample[] {
  faker.seed(20261126);
  // Dates are relative to a reference date: pin it, or the corpus would change every day.
  faker.setDefaultRefDate('2026-01-01T00:00:00.000Z');
  const out: CorpusSample[] = [];
  for (let i = 0; i < 800; i++) {
    const t = TEMPLATES[i % TEMPLATES.length]!;
    out.push(build(`f${i}`, 'faker', t()));
  }
  for (let i = 0; i < 160; i++) out.push(build(`n${i}`, 'faker', NEGATIVE_TEMPLATES[i % NEGATIVE_TEMPLATES.length]!()));
  HARD_CASES.forEach((c, i) => out.push(parseMarked(`h${i}`, c)));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'corpus.jsonl');
  const samples = generateCorpus();
  writeFileSync(file, samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
  console.log(`wrote ${samples.length} samples to ${file}`);
}
