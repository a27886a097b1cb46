// The auth section's checks across sections: a cluster with authentication on needs
// peer_token (peers could not reach each other otherwise), and credentials are never rendered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { REDACTED, renderConfig } from '../../src/config/render.js';

const CLUSTER = {
  storage: { backend: 's3', s3: { bucket: 'b' } },
  cluster: { peers: [{ otlp_grpc: '10.0.0.1:4317', http: '10.0.0.1:3200' }] },
};
const TOKENS = [{ token: 'tok-a-writer-0123456789', tenant: 'a' }];

test('a cluster with authentication on and no peer_token is refused, saying why', () => {
  assert.throws(
    () => validateConfig({ ...CLUSTER, auth: { bearer_tokens: TOKENS } }),
    (err: unknown) => err instanceof ConfigError && /auth\.peer_token: authentication is on in a cluster: set auth\.peer_token .* peers could not forward spans/.test(err.message),
  );
  assert.doesNotThrow(() => validateConfig({ ...CLUSTER, auth: { bearer_tokens: TOKENS, peer_token: 'peer-token-0123456789' } }));
  // Peers reach only OTLP gRPC and the API: with both open, no token is needed.
  assert.doesNotThrow(() => validateConfig({ ...CLUSTER, auth: { bearer_tokens: TOKENS, listeners: { api: [], otlp_grpc: [] } } }));
  assert.doesNotThrow(() => validateConfig({ auth: { bearer_tokens: TOKENS } }), 'a single instance needs none');
  assert.throws(() => validateConfig({ auth: { peer_token: 'short' } }), /auth\.peer_token: a token must be at least 16 characters/);
});

test('a listener naming a mode nothing configures is refused, naming the key to set', () => {
  assert.throws(
    () => validateConfig({ auth: { bearer_tokens: TOKENS, listeners: { api: ['bearer', 'oidc'] } } }),
    /auth\.listeners\.api\.1: oidc is not configured: set auth\.oidc\.issuer_url, or leave it out of this list/,
  );
  assert.doesNotThrow(() => validateConfig({ auth: { bearer_tokens: TOKENS, listeners: { api: ['bearer'], zipkin: [] } } }));
});

test('tokens, the peer token and the OIDC client secret are rendered as <redacted>', () => {
  const secrets = ['tok-a-writer-0123456789', 'peer-token-0123456789', 'client-secret-0123'];
  const config = validateConfig({ auth: { bearer_tokens: TOKENS, peer_token: secrets[1], oidc: { issuer_url: 'https://idp.example', client_id: 'skein', client_secret: secrets[2] } } });
  const rendered = renderConfig(config) as { auth: { bearer_tokens: Array<{ token: string }>; peer_token: string; oidc: { client_secret: string; client_id: string } } };
  assert.deepEqual([rendered.auth.bearer_tokens[0]!.token, rendered.auth.peer_token, rendered.auth.oidc.client_secret, rendered.auth.oidc.client_id], [REDACTED, REDACTED, REDACTED, 'skein']);
  const text = stringify(rendered);
  for (const s of secrets) assert.ok(!text.includes(s), s);
});
