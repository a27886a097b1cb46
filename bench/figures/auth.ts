// What authentication costs per request, in this process, on one core: the path a
// request's Authorization header takes through a listener's Authenticator (src/auth),
// without HTTP around it. For each mode a credential seen for the first time (a bcrypt
// check; a JWT signature against keys already fetched) and the same credential again,
// answered from the cache of verified credentials. The issue's target: a repeated JWT
// costs < 5 µs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createAuth } from '../../src/auth/index.js';
import type { Authenticator } from '../../src/auth/authenticator.js';
import { validateConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startOidcProvider } from '../../test/helpers/oidc-provider.js';
import { tempDir } from '../../test/helpers/skein-process.js';
import { makeFigure, type BenchContext } from '../figure.js';

/** htpasswd -B's default cost is 5; 10 is what most bcrypt libraries default to. */
const BCRYPT_COST = 10;
/** Below this a cached run is dominated by timer resolution and GC placement. */
const MIN_CACHED_CALLS = 200_000;

/**
 * Microseconds of this process's CPU time (user + system) per call of `authenticate` over
 * `headers`, one after another (each must be accepted). CPU time, not wall time: on a shared
 * machine the wall clock also counts the time other processes held the core.
 */
async function perCall(auth: Authenticator, headers: readonly string[]): Promise<number> {
  const before = process.cpuUsage();
  for (const authorization of headers) {
    const r = await auth.authenticate({ authorization });
    if ('status' in r) throw new Error(`a benchmark credential was refused: ${r.status} ${r.message}`);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / headers.length;
}

export async function runAuth(ctx: BenchContext): Promise<void> {
  const idp = await startOidcProvider();
  const dir = tempDir('skein-bench-auth-');
  const users = ctx.quick ? 5 : 20;
  const jwts = ctx.quick ? 200 : 1000;
  const passwords = Array.from({ length: users }, (_, i) => `password-of-user-${i}`);
  ctx.log(`auth: hashing ${users} passwords (bcrypt cost ${BCRYPT_COST}) and signing ${jwts * ctx.runs} JWTs`);
  const htpasswd = join(dir, 'htpasswd');
  writeFileSync(htpasswd, passwords.map((p, i) => `user${i}:$2y$${bcrypt.hashSync(p, BCRYPT_COST).slice(4)}`).join('\n') + '\n');
  const staticToken = 'bench-static-token-0123456789';
  const config = validateConfig({
    auth: {
      bearer_tokens: [{ token: staticToken, tenant: 'a', rights: ['write'] }],
      // As in a cluster: every bearer token is first compared with the peer token.
      peer_token: 'bench-peer-token-0123456789',
      basic: { htpasswd_file: htpasswd, tenants: Object.fromEntries(passwords.map((_, i) => [`user${i}`, 'a'])) },
      oidc: { issuer_url: idp.issuer, audience: 'skein', tenant_claim: 'tenant' },
    },
  });
  const auth = await createAuth(config, silentLogger);
  try {
    const authenticator = auth.forListener('otlp_http');
    // A jti of its own: tokens signed within the same second would otherwise be the same string, and cached.
    let jti = 0;
    // Claims of the size an IdP's access token carries (about 1 KB in all), so hashing it costs what it would.
    const claims = { sub: 'bench', tenant: 'a', email: 'bench@example.com', groups: Array.from({ length: 12 }, (_, i) => `team-${i}-observability-readers`), scope: 'openid profile email' };
    const sign = () => idp.sign({ ...claims, jti: String(jti++) }, { audience: 'skein' });
    // Discovery and the JWKS fetch happen once, before anything is timed.
    await perCall(authenticator, [`Bearer ${await sign()}`]);
    const basicHeader = (i: number) => `Basic ${Buffer.from(`user${i}:${passwords[i]}`).toString('base64')}`;
    const context = { mode: 'in-process', path: "a listener's Authenticator.authenticate (src/auth/index.ts), sequential calls", clock: 'process CPU time (user + system) per call', threads: 1 };

    const jwtFirst: number[] = [];
    const jwtCached: number[] = [];
    const basicFirst: number[] = [];
    const basicCached: number[] = [];
    const staticBearer: number[] = [];
    let fresh0Length = 0;
    for (let run = 0; run < ctx.runs; run++) {
      const fresh: string[] = [];
      for (let i = 0; i < jwts; i++) fresh.push(`Bearer ${await sign()}`);
      fresh0Length = fresh[0]!.length - 'Bearer '.length;
      jwtFirst.push(await perCall(authenticator, fresh));
      // The same token again and again, as an SDK exporter sends it: warmed up once, then timed.
      const repeated = new Array<string>(MIN_CACHED_CALLS).fill(fresh[0]!);
      await perCall(authenticator, repeated.slice(0, 10_000));
      jwtCached.push(await perCall(authenticator, repeated));

      // bcrypt: a fresh process for each run, so every user's first check is uncached.
      const runAuth = await createAuth(config, silentLogger);
      try {
        const basic = runAuth.forListener('otlp_http');
        basicFirst.push(await perCall(basic, passwords.map((_, i) => basicHeader(i))));
        const again = new Array<string>(MIN_CACHED_CALLS).fill(basicHeader(0));
        await perCall(basic, again.slice(0, 10_000));
        basicCached.push(await perCall(basic, again));
      } finally {
        await runAuth.close();
      }
      const statics = new Array<string>(MIN_CACHED_CALLS).fill(`Bearer ${staticToken}`);
      await perCall(authenticator, statics.slice(0, 10_000));
      staticBearer.push(await perCall(authenticator, statics));
      ctx.log(`auth run ${run + 1}: jwt first ${jwtFirst.at(-1)!.toFixed(1)} µs, cached ${jwtCached.at(-1)!.toFixed(2)} µs; basic first ${basicFirst.at(-1)!.toFixed(0)} µs, cached ${basicCached.at(-1)!.toFixed(2)} µs; static ${staticBearer.at(-1)!.toFixed(2)} µs`);
    }
    ctx.emit(makeFigure(ctx, 'auth.jwt.first', 'µs', jwtFirst, { ...context, alg: 'RS256', keyBits: 2048, tokenChars: fresh0Length, tokensPerRun: jwts }));
    ctx.emit(makeFigure(ctx, 'auth.jwt.cached', 'µs', jwtCached, { ...context, tokenChars: fresh0Length, callsPerRun: MIN_CACHED_CALLS, target: '< 5 µs (issue 12)' }));
    ctx.emit(makeFigure(ctx, 'auth.basic.first', 'µs', basicFirst, { ...context, bcryptCost: BCRYPT_COST, usersPerRun: users }));
    ctx.emit(makeFigure(ctx, 'auth.basic.cached', 'µs', basicCached, { ...context, callsPerRun: MIN_CACHED_CALLS }));
    ctx.emit(makeFigure(ctx, 'auth.bearer.static', 'µs', staticBearer, { ...context, callsPerRun: MIN_CACHED_CALLS }));
  } finally {
    await auth.close();
    await idp.close();
  }
}
