// The collector's bearertokenauth: `Authorization: Bearer <token>`, each token mapped to its
// tenants and rights, from the config and from a token file read again when it changes.
import { timingSafeEqual } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { bearerTokenSchema, SHORT_TOKEN, type BearerTokenConfig } from '../config/security-schema.js';
import type { Principal } from './principal.js';
import { watchedFile, type WatchedFile } from '../lib/watched-file.js';
import { digestKey, sha256 } from './digest.js';
import type { Logger } from '../telemetry/logger.js';

const tokenFileSchema = z.array(bearerTokenSchema);

/** Tokens are looked up by their SHA-256, so no token is kept as a map key and lookup time does not depend on how much of one matched. */
type TokenIndex = ReadonlyMap<string, { principal: Principal; digest: Buffer }>;

export class BearerTokens {
  private readonly fixed: TokenIndex;
  private readonly file: WatchedFile<TokenIndex> | undefined;

  constructor(tokens: readonly BearerTokenConfig[], tokenFile: string, logger: Logger) {
    this.fixed = index(tokens, 'token', logger);
    this.file = tokenFile
      ? watchedFile(tokenFile, (text) => index(parseTokenFile(text), 'token-file', logger), { intervalMs: 2000, logger, what: 'auth.token_file' })
      : undefined;
  }

  /** The principal of a bearer token, or undefined for a token nobody configured. */
  principalOf(token: string): Principal | undefined {
    return this.principalOfDigest(sha256(token));
  }

  /** The same, from the token's SHA-256 (src/auth/digest.ts), computed once per request. */
  principalOfDigest(digest: Buffer): Principal | undefined {
    const key = digestKey(digest);
    const hit = this.fixed.get(key) ?? this.file?.current().get(key);
    return hit && timingSafeEqual(hit.digest, digest) ? hit.principal : undefined;
  }

  close(): void {
    this.file?.close();
  }
}

function parseTokenFile(text: string): BearerTokenConfig[] {
  const parsed = tokenFileSchema.safeParse(parseYaml(text) ?? []);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`entry ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

function index(tokens: readonly BearerTokenConfig[], source: string, logger: Logger): TokenIndex {
  const out = new Map<string, { principal: Principal; digest: Buffer }>();
  tokens.forEach((t, i) => {
    // Named by its entry, never by its value.
    if (t.token.length < SHORT_TOKEN) logger.warn({ entry: t.name || `${source}-${i + 1}` }, `a bearer token is shorter than ${SHORT_TOKEN} characters and easy to guess: use a long random one (openssl rand -base64 32)`);
    const digest = sha256(t.token);
    out.set(digestKey(digest), {
      digest,
      principal: Object.freeze({
        subject: t.name || `${source}-${i + 1}`,
        tenants: Object.freeze(t.tenants ?? [t.tenant!]),
        rights: new Set(t.rights),
        peer: false,
      }),
    });
  });
  return out;
}
