// A corpus of credential-shaped values for the leak tests, and of values that
// only look like credentials and must pass untouched. Generated from a fixed
// seed, so a failure names the same value on every run.
import { generateKeyPairSync } from 'node:crypto';

export interface Secret {
  /** Which rule should catch it. */
  rule: string;
  /** The attribute value as an application would write it (context included). */
  value: string;
  /** Pieces of it that must not survive anywhere in the output. */
  fragments: string[];
}

/** Deterministic PRNG (mulberry32): the corpus is the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20240611);

function pick(alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = ALNUM + '-_';
const B64 = ALNUM + '+/';

function b64url(text: string | Buffer): string {
  return Buffer.from(text).toString('base64url');
}

function randomBytesSeeded(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
}

/** Middle slice of a token, long enough to be distinctive. */
function middle(token: string, length = 12): string {
  const start = Math.max(0, Math.floor((token.length - length) / 2));
  return token.slice(start, start + length);
}

/** A card number with a valid Luhn digit: prefix, random body, check digit. */
export function luhnComplete(prefix: string, length: number, rnd: () => number = random): string {
  let body = prefix;
  while (body.length < length - 1) body += String(Math.floor(rnd() * 10));
  return body + luhnCheckDigit(body);
}

export function luhnCheckDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** Groups the digits, e.g. [4,4,4,4] with ' '. */
export function grouped(digits: string, sizes: number[], sep: string): string {
  const parts: string[] = [];
  let at = 0;
  for (const size of sizes) {
    parts.push(digits.slice(at, at + size));
    at += size;
  }
  if (at < digits.length) parts.push(digits.slice(at));
  return parts.join(sep);
}

function bearerSecrets(): Secret[] {
  const tokens = [
    pick(ALNUM, 32),
    pick(ALNUM + '-._~', 48),
    pick(B64, 40) + '==',
    pick(ALNUM, 20),
    'ghp_' + pick(ALNUM, 36),
    'sk-live-' + pick(ALNUM, 24),
    pick(ALNUM + '-._~+/', 64),
  ];
  const contexts = [
    (t: string) => `Bearer ${t}`,
    (t: string) => `Authorization: Bearer ${t}`,
    (t: string) => `authorization: bearer ${t}`,
    (t: string) => `AUTHORIZATION=BEARER ${t}`,
    (t: string) => `{"headers":{"Authorization":"Bearer ${t}","Accept":"application/json"}}`,
    (t: string) => `retrying with Bearer\t${t} after 401`,
    (t: string) => `Proxy-Authorization: Bearer  ${t}`,
  ];
  return tokens.map((t, i) => ({ rule: 'bearer_token', value: contexts[i]!(t), fragments: [t, middle(t)] }));
}

function jwt(payload: object, signatureBytes: number, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const signature = signatureBytes === 0 ? '' : b64url(randomBytesSeeded(signatureBytes));
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${signature}`;
}

function jwtSecrets(): Secret[] {
  const tokens = [
    jwt({ sub: '1234567890', name: 'John Doe', iat: 1516239022 }, 32),
    jwt({ sub: 'u_' + pick(ALNUM, 8) }, 32),
    jwt({}, 32),
    jwt({ iss: 'https://auth.example.com/', aud: ['api', 'web'], scope: 'read:users write:users', exp: 1900000000, jti: pick(ALNUM, 24) }, 256, {
      alg: 'RS256',
      typ: 'JWT',
      kid: pick(ALNUM, 16),
    }),
    jwt({ sub: 'anonymous' }, 0, { alg: 'none' }),
    jwt({ sub: 'svc', data: pick(ALNUM, 600) }, 64, { alg: 'ES256', typ: 'JWT' }),
    // JWE compact form: five segments.
    `${b64url(JSON.stringify({ alg: 'RSA-OAEP', enc: 'A256GCM' }))}.${b64url(randomBytesSeeded(256))}.${b64url(randomBytesSeeded(12))}.${b64url(randomBytesSeeded(80))}.${b64url(randomBytesSeeded(16))}`,
  ];
  const contexts = [
    (t: string) => t,
    (t: string) => `token=${t}&redirect=/home`,
    (t: string) => `Cookie: session=${t}; Path=/`,
    (t: string) => `{"id_token":"${t}"}`,
    (t: string) => `jwt ${t}`,
    (t: string) => `https://app.example.com/callback#access_token=${t}&token_type=bearer`,
    (t: string) => `X-Encrypted: ${t}`,
  ];
  return tokens.map((t, i) => ({
    rule: 'jwt',
    value: contexts[i]!(t),
    fragments: [t, ...t.split('.').filter((segment) => segment.length >= 8).map((segment) => middle(segment))],
  }));
}

function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----'));
}

function pemSecrets(): Secret[] {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  const pkcs8 = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const encrypted = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' })
    .toString();
  const opensshBody = Buffer.concat([Buffer.from('openssh-key-v1\0'), randomBytesSeeded(300)]).toString('base64');
  const openssh = `-----BEGIN OPENSSH PRIVATE KEY-----\n${opensshBody.match(/.{1,70}/g)!.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  const escaped = rsa.replaceAll('\n', '\\n');
  const truncated = ec.slice(0, Math.floor(ec.length * 0.6));
  return [
    { rule: 'pem_private_key', value: rsa, fragments: pemBodyLines(rsa) },
    { rule: 'pem_private_key', value: `key loaded: ${ec} (from vault)`, fragments: pemBodyLines(ec) },
    { rule: 'pem_private_key', value: pkcs8, fragments: pemBodyLines(pkcs8) },
    { rule: 'pem_private_key', value: encrypted, fragments: pemBodyLines(encrypted) },
    { rule: 'pem_private_key', value: openssh, fragments: pemBodyLines(openssh) },
    // As JSON-escaped configuration dumps carry it.
    { rule: 'pem_private_key', value: `{"private_key":"${escaped}"}`, fragments: pemBodyLines(rsa) },
    // Cut short by an attribute length limit: no END line.
    { rule: 'pem_private_key', value: truncated, fragments: pemBodyLines(truncated) },
  ];
}

function awsSecrets(): Secret[] {
  const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const ids = ['AKIA' + pick(base32, 16), 'ASIA' + pick(base32, 16), 'AKIA' + pick(base32, 16), 'AKIAIOSFODNN7EXAMPLE'];
  const idContexts = [
    (k: string) => k,
    (k: string) => `aws_access_key_id=${k}`,
    (k: string) => `AWS credentials ${k}:secret`,
    (k: string) => `{"AccessKeyId":"${k}"}`,
  ];
  const secrets = [pick(B64, 40), pick(B64, 40), pick(B64, 40), pick(B64, 40), 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'];
  const secretContexts = [
    (s: string) => `aws_secret_access_key=${s}`,
    (s: string) => `AWS_SECRET_ACCESS_KEY: "${s}"`,
    (s: string) => `{"SecretAccessKey": "${s}", "SessionToken": "x"}`,
    (s: string) => `secret_key = ${s}`,
    (s: string) => `export aws.secretAccessKey=${s}`,
  ];
  return [
    ...ids.map((k, i) => ({ rule: 'aws_access_key_id', value: idContexts[i]!(k), fragments: [k, middle(k, 10)] })),
    ...secrets.map((s, i) => ({ rule: 'aws_secret_access_key', value: secretContexts[i]!(s), fragments: [s, middle(s)] })),
  ];
}

function cardSecrets(): Secret[] {
  const visa16 = luhnComplete('4', 16);
  const visa13 = luhnComplete('4', 13);
  const visa19 = luhnComplete('4', 19);
  const mc = luhnComplete('5' + String(1 + Math.floor(random() * 5)), 16);
  const mc2 = luhnComplete('2221', 16);
  const mc2b = luhnComplete('2720', 16);
  const amex = luhnComplete('37', 15);
  const amex34 = luhnComplete('34', 15);
  const discover = luhnComplete('6011', 16);
  const discover65 = luhnComplete('65', 16);
  const jcb = luhnComplete('35', 16);
  const diners = luhnComplete('36', 14);
  const unionpay = luhnComplete('62', 19);
  const mir = luhnComplete('2200', 16);
  const cards: Array<[string, string]> = [
    [visa16, visa16],
    [visa16, grouped(visa16, [4, 4, 4, 4], ' ')],
    [visa16, grouped(visa16, [4, 4, 4, 4], '-')],
    [visa13, visa13],
    [visa19, grouped(visa19, [4, 4, 4, 4], ' ')],
    [mc, grouped(mc, [4, 4, 4, 4], '-')],
    [mc2, `card ${mc2} exp 12/27`],
    [mc2b, grouped(mc2b, [4, 4, 4, 4], ' ')],
    [amex, grouped(amex, [4, 6, 5], ' ')],
    [amex34, grouped(amex34, [4, 6, 5], '-')],
    [discover, `pan=${grouped(discover, [4, 4, 4, 4], ' ')}&cvv=123`],
    [discover65, `{"card":"${discover65}"}`],
    [jcb, grouped(jcb, [4, 4, 4, 4], ' ')],
    [diners, grouped(diners, [4, 6, 4], ' ')],
    [unionpay, unionpay],
    [mir, `Mir ${grouped(mir, [4, 4, 4, 4], ' ')}`],
    // Written next to its CVV: the run is longer than a card, the card is its first groups.
    [visa16, `${grouped(visa16, [4, 4, 4, 4], ' ')} 123`],
  ];
  return cards.map(([digits, value]) => {
    const written = value.match(/[0-9][0-9 -]*[0-9]/)![0];
    return { rule: 'card_number', value, fragments: [written, middle(written, 8), ...(value.includes(digits) ? [digits] : [])] };
  });
}

function emailSecrets(): Secret[] {
  const emails = [
    'jane.doe@example.com',
    'ops+alerts@sub.example.co.uk',
    'first_last1987@company.io',
    'x.' + pick('abcdefghijklmnopqrstuvwxyz', 10) + '@mail.example.org',
    'ADMIN@EXAMPLE.NET',
  ];
  const contexts = [
    (e: string) => e,
    (e: string) => `contact ${e} for access`,
    (e: string) => `mailto:${e}?subject=hi`,
    (e: string) => `{"user":{"email":"${e}"}}`,
    (e: string) => `From: Admin <${e}>`,
  ];
  return emails.map((e, i) => ({ rule: 'email', value: contexts[i]!(e), fragments: [e, e.split('@')[0]!] }));
}

/** Every credential-shaped value: catching them is the default rules' job (email: its opt-in rule's). */
export function secrets(): Secret[] {
  return [...bearerSecrets(), ...jwtSecrets(), ...pemSecrets(), ...awsSecrets(), ...cardSecrets(), ...emailSecrets()];
}

/** Values that resemble credentials but are not; the default rules must leave them alone. */
export function lookalikes(): string[] {
  const failingLuhn = [luhnComplete('4', 16), luhnComplete('51', 16), luhnComplete('37', 15), luhnComplete('6011', 16)].map(
    (n) => n.slice(0, -1) + String((Number(n.at(-1)) + 1) % 10),
  );
  return [
    // Card-like digits failing Luhn, or without a card issuer's prefix.
    ...failingLuhn,
    grouped(failingLuhn[0]!, [4, 4, 4, 4], ' '),
    grouped(failingLuhn[1]!, [4, 4, 4, 4], '-'),
    luhnComplete('1', 16),
    luhnComplete('9', 16),
    '1700000000123',
    '1700000000123456789',
    '12345678901234567890123',
    'order 1234 5678 9012',
    '978-3-16-148410-0',
    '+1 415 555 2671',
    // Base64 blobs, including base64 of JSON (which starts with eyJ but has no dots).
    Buffer.from(randomBytesSeeded(48)).toString('base64'),
    Buffer.from(randomBytesSeeded(33)).toString('base64url'),
    Buffer.from(JSON.stringify({ user: 'alice', roles: ['admin'] })).toString('base64'),
    'eyJ',
    'abc.def.ghi',
    // IDs.
    '550e8400-e29b-41d4-a716-446655440000',
    'f47ac10b-58cc-4372-a567-0e02b2c3d479',
    '4bf92f3577b34da6a3ce929d0e0e4736',
    '00f067aa0ba902b7',
    '0af7651916cd43dd8448eb211c80319c',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    randomBytesSeeded(20).toString('hex'),
    // "Bearer" as a word, and challenge headers.
    'The Bearer scheme is defined in RFC 6750',
    'request is missing a Bearer token',
    'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
    'Bearer',
    'bearer',
    'Bearer tokens.',
    // Words that contain a rule's trigger.
    'secret santa party',
    'private key rotation scheduled',
    'PRIVATE KEY',
    '-----BEGIN CERTIFICATE-----',
    'AKIA1234',
    'ASIAN cuisine',
    'secret_key=short',
    'hello world',
    // Ordinary telemetry.
    'https://api.example.com/v1/orders/12345?page=2',
    'SELECT id FROM orders WHERE customer_id = $1 AND total > 1234567',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    '2024-01-15T10:30:00.123456789Z',
    '10.42.7.19',
    'v1.2.3-beta.4',
    'http-nio-8080-exec-7',
  ];
}

/**
 * Twenty distinct credentials, one of each common shape the default rules catch,
 * for the place-by-place matrix: each is short enough to sit in a span name or
 * an attribute key. Seeded apart from the corpus, so adding to one leaves the other as it was.
 */
export function matrixSecrets(): Secret[] {
  const rnd = prng(9090);
  const draw = (alphabet: string, n: number): string => Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
  const digits = '0123456789';
  const upper = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const token = (rule: string, value: string, secret: string): Secret => ({ rule, value, fragments: [secret, middle(secret)] });

  const opaque = draw(ALNUM, 40);
  const jwtToken = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify({ sub: 'u_' + draw(ALNUM, 10), exp: 1900000000 }))}.${b64url(bytes(32))}`;
  const bearerJwt = `${b64url(JSON.stringify({ alg: 'RS256', kid: draw(ALNUM, 8) }))}.${b64url(JSON.stringify({ scope: 'orders:write', jti: draw(ALNUM, 16) }))}.${b64url(bytes(64))}`;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const opensshBody = Buffer.concat([Buffer.from('openssh-key-v1\0'), bytes(120)]).toString('base64');
  const openssh = `-----BEGIN OPENSSH PRIVATE KEY-----\n${opensshBody.match(/.{1,70}/g)!.join('\n')}\n-----END OPENSSH PRIVATE KEY-----`;
  const akid = 'AKIA' + draw(upper, 16);
  const asia = 'ASIA' + draw(upper, 16);
  const awsSecret = draw(B64, 40);
  const visa = grouped(luhnComplete('4', 16, rnd), [4, 4, 4, 4], ' ');
  const amex = grouped(luhnComplete('37', 15, rnd), [4, 6, 5], '-');
  const gitPassword = draw(ALNUM, 20);
  const dbPassword = draw(ALNUM + '!*', 18);
  const ghp = 'ghp_' + draw(ALNUM, 36);
  const ghPat = 'github_pat_' + draw(ALNUM, 22) + '_' + draw(ALNUM, 59);
  const xoxb = `xoxb-${draw(digits, 12)}-${draw(digits, 13)}-${draw(ALNUM, 24)}`;
  const webhook = `T${draw(upper, 10)}/B${draw(upper, 10)}/${draw(ALNUM, 24)}`;
  const google = 'AIza' + draw(ALNUM + '-_', 35);
  const stripe = 'sk_live_' + draw(ALNUM, 32);
  const basic = Buffer.from(`svc-backup:${draw(ALNUM, 16)}`).toString('base64');
  const gitlab = 'glpat-' + draw(ALNUM + '-_', 20);

  return [
    token('bearer_token', `Bearer ${opaque}`, opaque),
    token('jwt', jwtToken, jwtToken),
    token('bearer_token', `Bearer ${bearerJwt}`, bearerJwt),
    { rule: 'pem_private_key', value: rsa, fragments: pemBodyLines(rsa) },
    { rule: 'pem_private_key', value: openssh, fragments: pemBodyLines(openssh) },
    token('aws_access_key_id', `aws_access_key_id=${akid}`, akid),
    token('aws_access_key_id', asia, asia),
    token('aws_secret_access_key', `aws_secret_access_key=${awsSecret}`, awsSecret),
    { rule: 'card_number', value: `card ${visa}`, fragments: [visa, visa.replaceAll(' ', '')] },
    { rule: 'card_number', value: `amex ${amex}`, fragments: [amex, amex.replaceAll('-', '')] },
    token('url_credentials', `https://deploy:${gitPassword}@git.example.com/org/repo.git`, gitPassword),
    token('url_credentials', `postgres://orders_app:${dbPassword}@db.internal:5432/orders`, dbPassword),
    token('github_token', ghp, ghp),
    token('github_token', ghPat, ghPat),
    token('slack_token', xoxb, xoxb),
    token('slack_token', `https://hooks.slack.com/services/${webhook}`, webhook),
    token('google_api_key', `key=${google}`, google),
    token('stripe_key', stripe, stripe),
    token('basic_auth', `Authorization: Basic ${basic}`, basic),
    token('gitlab_token', `PRIVATE-TOKEN: ${gitlab}`, gitlab),
  ];
}

