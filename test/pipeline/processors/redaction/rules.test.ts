import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinRules, DEFAULT_RULE_NAMES } from '../../../../src/pipeline/processors/redaction/rules.js';
import { batchOf, firstSpan, redaction, spanWith, str, strAttr } from './helpers.js';

test('the built-ins run in a fixed order, key blocks first', () => {
  assert.deepEqual(
    builtinRules(DEFAULT_RULE_NAMES).map((r) => r.name),
    [
      ...['pem_private_key', 'bearer_token', 'jwt', 'aws_access_key_id', 'aws_secret_access_key', 'card_number'],
      ...['url_credentials', 'github_token', 'gitlab_token', 'slack_token', 'google_api_key', 'stripe_key', 'basic_auth'],
    ],
  );
  assert.deepEqual(
    builtinRules(['email', 'jwt']).map((r) => r.name),
    ['jwt', 'email'],
  );
});

async function redact(value: string, options: Record<string, unknown> = {}): Promise<string> {
  const { processor, next } = redaction(options);
  await processor.consume('acme', batchOf([spanWith([str('v', value)])]));
  return strAttr(firstSpan(next.last).attributes, 'v');
}

test('what each built-in masks, and what it keeps around the secret', async () => {
  assert.equal(await redact('Authorization: Bearer abc.DEF-123_456~+/='), 'Authorization: Bearer ****');
  assert.equal(await redact('x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl y'), 'x **** y');
  assert.equal(
    await redact('before\n-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\nafter'),
    'before\n****\nafter',
  );
  assert.equal(await redact('id=AKIAIOSFODNN7EXAMPLE;'), 'id=****;');
  assert.equal(await redact('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), 'aws_secret_access_key = ****');
  assert.equal(await redact('pan 4111-1111-1111-1111 exp 12/27'), 'pan **** exp 12/27');
  assert.equal(await redact('mail a.b+c@example.co.uk.', { optional_rules: ['email'] }), 'mail ****.');
});

test('a private key cut off before its END line is masked to the end of the value', async () => {
  assert.equal(await redact('key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oO'), 'key: ****');
});

test('bearer_token keeps prose and challenge headers', async () => {
  for (const text of ['Bearer token', 'use the Bearer scheme.', 'WWW-Authenticate: Bearer realm="x"', 'Bearer abc12', 'BEARER TOKEN']) {
    assert.equal(await redact(text), text);
  }
});

test('bearer tokens and AWS secret names are found in any letter case, as the docs promise', async () => {
  // The rules' quick pre-search once knew only "earer"/"EARER" and "ecret"/"ECRET".
  assert.equal(await redact('Authorization: BeArEr abcDEF123456ghiJKL'), 'Authorization: BeArEr ****');
  assert.equal(await redact('authorization: BEARer abcDEF123456ghiJKL'), 'authorization: BEARer ****');
  assert.equal(await redact('SeCrEt_KeY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), 'SeCrEt_KeY=****');
  assert.equal(await redact('AWS_SECRET_access_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), 'AWS_SECRET_access_KEY: ****');
  assert.equal(await redact('BeArEr tokens'), 'BeArEr tokens');
});

test('named user rules mask every match, like blocked_values', async () => {
  assert.equal(
    await redact('keys itk_0123456789abcdef0123456789abcdef and itk_fedcba9876543210fedcba9876543210', {
      rules: [{ name: 'internal_token', pattern: 'itk_[0-9a-f]{32}' }],
    }),
    'keys **** and ****',
  );
});

test('what each newer built-in masks, and what it keeps around the secret', async () => {
  assert.equal(await redact('clone https://deploy:s3cr3tPassw0rd@git.example.com/org/repo.git'), 'clone https://deploy:****@git.example.com/org/repo.git');
  assert.equal(await redact('postgres://app:p%40ss!word@db:5432/orders'), 'postgres://app:****@db:5432/orders');
  assert.equal(await redact('redis://:hunter2hunter2@cache:6379'), 'redis://:****@cache:6379');
  assert.equal(await redact('token ghp_0123456789abcdefghijABCDEFGHIJ012345 used'), 'token **** used');
  assert.equal(await redact(`github_pat_11ABCDEFG0123456789abc_${'x'.repeat(59)}`), '****');
  assert.equal(await redact('PRIVATE-TOKEN: glpat-aB3dE6gH9jK2mN5pQ8sT'), 'PRIVATE-TOKEN: ****');
  assert.equal(await redact('xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'), '****');
  assert.equal(await redact('POST https://hooks.slack.com/services/T0ABCDEFGH/B0ABCDEFGH/AbCdEfGhIjKlMnOpQrStUvWx'), 'POST https://hooks.slack.com/services/****');
  assert.equal(await redact('?key=AIzaSyA1b2C3d4E5f6G7h8I9j0K_L-M2n3O4p5Q&q=x'), '?key=****&q=x');
  assert.equal(await redact('stripe sk_live_51H8xYzAbCdEfGhIjKlMnOpQr'), 'stripe ****');
  assert.equal(await redact('rk_test_51H8xYzAbCdEfGhIjKlMnOpQr'), '****');
  assert.equal(await redact(`Authorization: Basic ${Buffer.from('svc:hunter2').toString('base64')}`), 'Authorization: Basic ****');
});

test('the newer built-ins keep what only resembles their credentials', async () => {
  for (const text of [
    'https://api.example.com:8443/v1/orders?page=2',
    'https://example.com/users/@alice',
    'mailto:ops@example.com',
    'ghp_short',
    'glpat-short',
    'xoxo hugs and kisses',
    'pk_live_51H8xYzAbCdEfGhIjKlMnOpQr',
    'sk_live_',
    'AIza',
    'Basic auth required',
    'Basic getUserProfile',
    'basic dXNlcm5hbWU=',
    'jurassic park',
  ]) {
    assert.equal(await redact(text), text);
  }
});
