// How the provisioned Tempo data source authenticates to Skein: a bearer token or basic
// auth, the tenant (X-Scope-OrgID), and TLS (the CA, a client certificate). Grafana takes
// custom headers as jsonData.httpHeaderNameN with secureJsonData.httpHeaderValueN, and
// keeps secureJsonData encrypted in its database once provisioned; the provisioning file
// itself holds them in clear, unless they are references to Grafana's environment
// (`--token-env`, `--basic-auth-password-env`), which Grafana expands when it reads the file.
import { readFileSync } from 'node:fs';
import { tenantFromHeader } from '../lib/tenant.js';

export interface CredentialFlags {
  token?: string;
  tokenEnv?: string;
  tenant?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  basicAuthUser?: string;
  basicAuthPassword?: string;
  basicAuthPasswordEnv?: string;
}

/** What goes into the Tempo data source, and what the Prometheus scrape job needs to know. */
export interface DatasourceAuth {
  /** Top-level keys of the data source (basicAuth, basicAuthUser). */
  fields: Record<string, unknown>;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
  /** A credential is written in clear (not as a reference to Grafana's environment). */
  holdsSecret: boolean;
  /** Which credential Skein gets: the scrape job needs one of its own. */
  scheme: 'bearer' | 'basic' | undefined;
  caFile: string | undefined;
}

export class CredentialError extends Error {}

/**
 * Grafana expands $VAR and ${VAR} from its environment in provisioning files; $$ stands
 * for a literal $. Every value Grafana must see as written goes through this.
 */
export function literal(text: string): string {
  return text.replaceAll('$', () => '$$');
}

function envReference(flag: string, name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CredentialError(`${flag} ${JSON.stringify(name)} is not an environment variable name (letters, digits and _, not starting with a digit)`);
  return `\${${name}}`;
}

function pemFile(flag: string, path: string, kind: 'certificate' | 'key'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CredentialError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const ok = kind === 'certificate' ? text.includes('-----BEGIN CERTIFICATE-----') : /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
  if (!ok) throw new CredentialError(`${flag} ${path} is not a PEM ${kind === 'certificate' ? 'certificate (no -----BEGIN CERTIFICATE----- line)' : 'private key (no -----BEGIN … PRIVATE KEY----- line)'}`);
  return text;
}

/** The data source's authentication from the flags; `https`: whether Skein's URL is https://. */
export function datasourceAuth(flags: CredentialFlags, https: boolean): DatasourceAuth {
  const auth: DatasourceAuth = { fields: {}, jsonData: {}, secureJsonData: {}, holdsSecret: false, scheme: undefined, caFile: undefined };
  const headers: Array<[string, string]> = [];

  if (flags.token !== undefined && flags.tokenEnv !== undefined) throw new CredentialError('give --token or --token-env, not both');
  const basic = flags.basicAuthUser !== undefined || flags.basicAuthPassword !== undefined || flags.basicAuthPasswordEnv !== undefined;
  if (basic && (flags.token !== undefined || flags.tokenEnv !== undefined)) {
    throw new CredentialError('a bearer token and basic auth both use the Authorization header: give one of them');
  }
  if (flags.token !== undefined) {
    if (!/^[\x21-\x7e]+$/.test(flags.token)) throw new CredentialError('--token must be printable ASCII without spaces (the token alone, without "Bearer")');
    headers.push(['Authorization', `Bearer ${literal(flags.token)}`]);
    auth.holdsSecret = true;
    auth.scheme = 'bearer';
  } else if (flags.tokenEnv !== undefined) {
    headers.push(['Authorization', `Bearer ${envReference('--token-env', flags.tokenEnv)}`]);
    auth.scheme = 'bearer';
  }
  if (basic) {
    if (flags.basicAuthUser === undefined || flags.basicAuthUser === '') throw new CredentialError('--basic-auth-password needs --basic-auth-user');
    if ((flags.basicAuthPassword === undefined) === (flags.basicAuthPasswordEnv === undefined)) {
      throw new CredentialError('--basic-auth-user needs one of --basic-auth-password or --basic-auth-password-env');
    }
    auth.fields['basicAuth'] = true;
    auth.fields['basicAuthUser'] = literal(flags.basicAuthUser);
    if (flags.basicAuthPassword !== undefined) {
      auth.secureJsonData['basicAuthPassword'] = literal(flags.basicAuthPassword);
      auth.holdsSecret = true;
    } else {
      auth.secureJsonData['basicAuthPassword'] = envReference('--basic-auth-password-env', flags.basicAuthPasswordEnv!);
    }
    auth.scheme = 'basic';
  }
  if (flags.tenant !== undefined) {
    // Tempo's federation: a|b reads several tenants, if the credential allows each.
    for (const name of flags.tenant.split('|')) {
      const t = tenantFromHeader(name);
      if (name === '' || 'error' in t) throw new CredentialError(`--tenant ${JSON.stringify(flags.tenant)}: ${'error' in t ? t.error : 'an empty tenant ID'}`);
    }
    headers.push(['X-Scope-OrgID', flags.tenant]);
  }
  headers.forEach(([name, value], i) => {
    auth.jsonData[`httpHeaderName${i + 1}`] = name;
    auth.secureJsonData[`httpHeaderValue${i + 1}`] = value;
  });

  const tlsFlag = flags.caFile !== undefined ? '--ca-file' : flags.certFile !== undefined ? '--cert-file' : flags.keyFile !== undefined ? '--key-file' : undefined;
  if (tlsFlag !== undefined && !https) throw new CredentialError(`${tlsFlag} is for an https:// --skein-url`);
  if (flags.caFile !== undefined) {
    auth.jsonData['tlsAuthWithCACert'] = true;
    auth.secureJsonData['tlsCACert'] = pemFile('--ca-file', flags.caFile, 'certificate');
    auth.caFile = flags.caFile;
  }
  if ((flags.certFile === undefined) !== (flags.keyFile === undefined)) throw new CredentialError('--cert-file and --key-file go together: a client certificate and its key');
  if (flags.certFile !== undefined && flags.keyFile !== undefined) {
    auth.jsonData['tlsAuth'] = true;
    auth.secureJsonData['tlsClientCert'] = pemFile('--cert-file', flags.certFile, 'certificate');
    auth.secureJsonData['tlsClientKey'] = pemFile('--key-file', flags.keyFile, 'key');
    auth.holdsSecret = true;
  }
  return auth;
}
