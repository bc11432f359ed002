/**
 * Hand-written hard cases. `⟦type:value⟧` marks an entity; everything else must not be reported.
 * Near misses come first (they must stay untouched), then positives in awkward surroundings.
 */
const B64_BLOB = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg' +
  'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLw' +
  'TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdC4gU2VkIGRv';

export const HARD_CASES: readonly string[] = [
  // Numbers that fail Luhn or brand checks.
  'Order 4111 1111 1111 1112 has shipped.',
  'Invoice number 1234 5678 9012 3456 is overdue.',
  'Tracking: 1Z999AA10123456784, parcel id 9400111899223197428490.',
  'The build id was 20240115123045678 and the job 4000000000000.',
  'Reference 0000 0000 0000 0000 is a test value.',
  // Version strings, OIDs and other dotted numbers that look like IPs.
  'Upgraded to v1.2.3.4 last night; rollback to version 10.0.19041.1 if needed.',
  'User-Agent: Mozilla/5.0 Chrome/120.0.6099.109 Safari/537.36',
  'SNMP OID 1.3.6.1.4.1.311.21.7 identifies the template.',
  'pip install numpy==1.26.4.0 and see section 3.2.1.4 of the manual.',
  'Listen on 0.0.0.0:8080 and 127.0.0.1:5432; netmask 255.255.255.0.',
  'Version: 4.19.2.10 released, and build 999.999.999.999 is invalid anyway.',
  // Code that looks like IPv6, phones or secrets.
  'std::vector<int> v; a::b::c(); auto x = std::move(y);',
  'MAC address 00:1a:2b:3c:4d:5e, time 12:30:45, ratio 16:9.',
  'const timeout = 1234567890; const retries = 3; let port = 5432;',
  'uuid = "123e4567-e89b-12d3-a456-426614174000"; sha = "9fceb02d0ae598e95dc970b74767f19372d61af8"',
  'password = os.environ["DB_PASSWORD"]\napi_key = settings.OPENAI_API_KEY\ntoken = process.env.GITHUB_TOKEN',
  'api_key: YOUR_API_KEY_HERE\npassword: changeme\nsecret: ${SECRET}\ntoken: <token>',
  'max_tokens: 1024, temperature: 0.2, top_p: 0.95, "tokens": 4096',
  'def check_password(password: str) -> bool:\n    return bcrypt.checkpw(password.encode(), stored_hash)',
  'ISBN 978-3-16-148410-0, date 2024-01-15, price $1,299.99, zip 94107-1234.',
  'Matrix: [[1, 2, 3], [4, 5, 6]]; range(0, 100); 3.14159265358979',
  // Base64 blobs and hashes without secret context.
  `data:image/png;base64,${B64_BLOB}`,
  `checksum sha512-${B64_BLOB.slice(0, 86)}==`,
  'commit 3f786850e387550fdab836ed7e6dc881de23001b\nAuthor: CI Bot',
  // Near-miss keys.
  'ghp_abc123 is too short to be a GitHub token; so is gho_XYZ.',
  'sk-ant-api03-short and sk-proj-tiny are placeholders in the docs.',
  'AKIA1234567 and AKIAIOSFODNN7 are truncated ids.',
  'AIzaShortKey and xoxb-notatoken and sk_live_123 are not real.',
  'The string sk-1234 appears in the tutorial, as does eyJhbGciOi.',
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----',
  '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUB\n-----END CERTIFICATE-----',
  // Invalid SSNs and IBANs.
  'SSNs 000-12-3456, 666-12-3456, 912-34-5678, 123-00-4567 and 123-45-0000 are never issued.',
  'IBAN DE89 3704 0044 0532 0130 01 has a wrong check digit; GB00 NWBK 6016 1331 9268 19 too.',
  // Placeholders already in the text.
  'Please reply to <EMAIL_1> and call <PHONE_2>; the card on file is <CREDIT_CARD_1>.',
  'Template: Dear <NAME>, your code is <CODE_123> and <US_SSN_7>.',
  // Emails that are not: decorators, handles, paths.
  'Use @Override and @pytest.fixture; ping @alice on Slack; see node_modules/@types/node.',
  // Positives in awkward places.
  'Contact: ⟦email:maria.garcia+invoices@example.co.uk⟧ (billing).',
  'Mein Name ist Jürgen Müller, E-Mail ⟦email:j.mueller@beispiel.de⟧, Tel. ⟦phone:+49 30 1234567⟧.',
  '電話番号は ⟦phone:+81 3-1234-5678⟧ です。メールは ⟦email:tanaka@example.jp⟧。',
  'Números: ⟦credit_card:4111 1111 1111 1111⟧ y ⟦credit_card:5555555555554444⟧ — ¡gracias! 🎉',
  'Amex ⟦credit_card:3782 822463 10005⟧, Discover ⟦credit_card:6011-1111-1111-1117⟧.',
  'card=⟦credit_card:4012888888881881⟧&exp=12/29',
  'SSN: ⟦us_ssn:123-45-6789⟧ and ssn ⟦us_ssn:078-05-1121⟧; social security number ⟦us_ssn:219099998⟧.',
  'IBANs: ⟦iban:DE89 3704 0044 0532 0130 00⟧, ⟦iban:GB29NWBK60161331926819⟧, ⟦iban:FR14 2004 1010 0505 0001 3M02 606⟧.',
  'Blocked ⟦ip_address:203.0.113.7⟧ and ⟦ip_address:2001:db8::8a2e:370:7334⟧; allowed ⟦ip_address:fe80::1ff:fe23:4567:890a⟧.',
  'ssh deploy@⟦ip_address:192.168.10.25⟧ -p 2222',
  '{"client_ip":"⟦ip_address:10.20.30.40⟧","status":200}',
  'Call me at ⟦phone:(415) 555-0132⟧ or ⟦phone:415.555.0199⟧ tomorrow.',
  'whatsapp: ⟦phone:+44 20 7946 0958⟧',
  'phone: ⟦phone:030 1234567⟧ (Berlin office)',
  'Mobile ⟦phone:+1-202-555-0173⟧, fax ⟦phone:1-202-555-0111⟧.',
  'export OPENAI_API_KEY="⟦openai_key:sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWx⟧"',
  'key = "⟦anthropic_key:sk-ant-api03-R2D2C3POBB8xX7yY6zZ5aA4bB3cC2dD1eE0fF9gG8hH7iI6jJ5kK4lL3mM2nN1oO0pP9qQ8rR7sS6tT5uU4vV3wW2xX1yY0zZ9aA8bB7cC-AA⟧"',
  'aws configure set aws_access_key_id ⟦aws_access_key:AKIAZ2R7Q3M5N6P4T7XY⟧',
  'aws_secret_access_key = ⟦aws_secret_key:9drTJvcXLB89EXAMPLEkQZKf/3bY8pO+rA2sT1uV⟧',
  'GITHUB_TOKEN=⟦github_token:ghp_16C7e42F292c6912E7710c838347Ae178B4a⟧ npm publish',
  'slack: ⟦slack_token:xoxp-1234567890123-1234567890123-1234567890123-abcdef0123456789abcdef0123456789⟧',
  'Stripe restricted key ⟦stripe_key:rk_live_51H8zXyAbCdEfGhIjKlMnOpQr⟧ rotated.',
  'maps key ⟦google_api_key:AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q⟧',
  'Authorization: Bearer ⟦jwt:eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c⟧',
  'mysql://⟦url_credentials:root:Sup3r-S3cret⟧@⟦ip_address:10.0.0.5⟧:3306/app is the legacy DSN; ⟦ip_address:10.0.0.5⟧ is gone.',
  'redis://⟦url_credentials:default:a8F3kL9qZx2W⟧@cache.internal:6379/0',
  'PASSWORD=⟦generic_secret:Tr0ub4dor&3xK9!⟧\nDEBUG=false',
  '"client_secret": "⟦generic_secret:8f14e45fceea167a5a36dedd4bea2543⟧",',
  'api-key: ⟦generic_secret:Zq8vN2xL7pR4tY6wB1cE3gH5⟧',
  'login with passwd=⟦generic_secret:hunter2-Xy9!long⟧ then run the job',
  '⟦private_key:-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDx3x8mVq2w9m2YjJmZqJ2Hq8lC9lXrF1l6bq0Zg3m9gAAAAJgAAAAAAAAA\n-----END OPENSSH PRIVATE KEY-----⟧',
  'Mixed: ⟦email:ops@example.org⟧, ⟦ip_address:198.51.100.23⟧, ⟦credit_card:4111-1111-1111-1111⟧ and v2.0.0.1 in one line.',
  'Emoji 😀 before ⟦email:emoji.user@example.com⟧ and after 🚀 ⟦phone:+33 1 23 45 67 89⟧.',
  'Tab\tseparated\t⟦email:tab@example.net⟧\t⟦ip_address:8.8.8.8⟧\tend',
  'Line one\r\nLine two ⟦email:crlf@example.com⟧\r\n',
  'Ünïcödé ñame: Zoë Ångström, ⟦email:zoe.angstrom@example.se⟧, IBAN ⟦iban:SE45 5000 0000 0583 9825 7466⟧',
];
