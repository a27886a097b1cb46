// The collector's bearertokenauth: `Authorization: Bearer <token>`, each token mapped to its
// tenants and rights, from the config and from a token file read again when it changes.
import { createHash, timingSafeEqual } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { bearerTokenSchema, type BearerTokenConfig } from '../config/security-schema.js';
import type { Principal } from './principal.js';
import { watchedFile, type WatchedFile } from '../lib/watched-file.js';
import type { Logger } from '../telemetry/logger.js';

const tokenFileSchema = z.array(bearerTokenSchema);

/** Tokens are looked up by their SHA-256, so no token is kept as a map key and lookup time does not depend on how much of one matched. */
type TokenIndex = ReadonlyMap<string, { principal: Principal; digest: Buffer }>;

export class BearerTokens {
  private readonly fixed: TokenIndex;
  private readonly file: WatchedFile<TokenIndex> | undefined;

  constructor(tokens: readonly BearerTokenConfig[], tokenFile: string, logger: Logger) {
    this.fixed = index(tokens, 'token');
    this.file = tokenFile
      ? watchedFile(tokenFile, (text) => index(parseTokenFile(text), 'token-file'), { intervalMs: 2000, logger, what: 'auth.token_file' })
      : undefined;
  }

  /** The principal of a bearer token, or undefined for a token nobody configured. */
  principalOf(token: string): Principal | undefined {
    const digest = sha256(token);
    const key = digest.toString('hex');
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

function index(tokens: readonly BearerTokenConfig[], source: string): TokenIndex {
  const out = new Map<string, { principal: Principal; digest: Buffer }>();
  tokens.forEach((t, i) => {
    const digest = sha256(t.token);
    out.set(digest.toString('hex'), {
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

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
