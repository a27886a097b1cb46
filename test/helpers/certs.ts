// Certificates made by the test itself, for real TLS handshakes: a CA, server certificates it
// signs for 127.0.0.1 and localhost (a current one, an expired one, a renewed one), client
// certificates for mutual TLS, and a second CA nobody trusts. EC P-256 keys from Node's
// webcrypto, X.509 from @peculiar/x509; everything written as PEM files to a temp directory.
import 'reflect-metadata';
import { webcrypto, KeyObject, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

const dirs: string[] = [];
process.once('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A certificate and its key, as PEM text and as files. */
export interface Issued {
  /** The certificate's PEM (for a CA: what clients trust). */
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  /** As Node reports a peer's certificate (`getPeerCertificate().fingerprint256`). */
  fingerprint256: string;
}

export interface IssueOptions {
  /** File names are `<name>.crt` and `<name>.key`. */
  name: string;
  /** A certificate whose validity ended yesterday. */
  expired?: boolean;
}

export interface TestCa extends Issued {
  /** A server certificate for 127.0.0.1, ::1 and localhost. */
  server(opts: IssueOptions): Promise<Issued>;
  /** A client certificate (for mutual TLS) with the name as its common name. */
  client(opts: IssueOptions): Promise<Issued>;
}

/** A fresh directory for certificate files, removed when the process exits. */
export function certDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skein-certs-'));
  dirs.push(dir);
  return dir;
}

export async function createCa(name: string, dir: string): Promise<TestCa> {
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const ca = await write(dir, slug(name), cert, keys.privateKey);
  const issue = async (opts: IssueOptions, usage: 'server' | 'client'): Promise<Issued> => {
    const leafKeys = await generateKeys();
    const notAfter = opts.expired ? new Date(now - DAY_MS) : new Date(now + 30 * DAY_MS);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${usage === 'server' ? 'localhost' : opts.name}`,
      issuer: cert.subject,
      notBefore: new Date(now - 2 * DAY_MS),
      notAfter,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
        ...(usage === 'server'
          ? [
              new x509.SubjectAlternativeNameExtension([
                { type: 'dns', value: 'localhost' },
                { type: 'ip', value: '127.0.0.1' },
                { type: 'ip', value: '::1' },
              ]),
            ]
          : []),
        await x509.AuthorityKeyIdentifierExtension.create(cert),
      ],
    });
    return write(dir, opts.name, leaf, leafKeys.privateKey);
  };
  return { ...ca, server: (opts) => issue(opts, 'server'), client: (opts) => issue(opts, 'client') };
}

/** What most TLS tests need, in one directory. */
export interface TestPki {
  dir: string;
  ca: TestCa;
  /** A CA no listener or client trusts. */
  otherCa: TestCa;
  server: Issued;
  expiredServer: Issued;
  /** A server certificate for the same names, signed by the other CA. */
  foreignServer: Issued;
  client: Issued;
  /** A client certificate signed by the other CA. */
  foreignClient: Issued;
}

export async function createTestPki(): Promise<TestPki> {
  const dir = certDir();
  const ca = await createCa('Skein test CA', dir);
  const otherCa = await createCa('Some other CA', dir);
  return {
    dir,
    ca,
    otherCa,
    server: await ca.server({ name: 'server' }),
    expiredServer: await ca.server({ name: 'expired-server', expired: true }),
    foreignServer: await otherCa.server({ name: 'foreign-server' }),
    client: await ca.client({ name: 'client' }),
    foreignClient: await otherCa.client({ name: 'foreign-client' }),
  };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function write(dir: string, name: string, cert: x509.X509Certificate, privateKey: webcrypto.CryptoKey): Promise<Issued> {
  const certPem = cert.toString('pem') + '\n';
  const keyPem = KeyObject.from(privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  return { cert: certPem, key: keyPem, certFile, keyFile, fingerprint256: new NodeX509Certificate(certPem).fingerprint256 };
}

/** A positive random 16-byte serial number, in hex. */
function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}
