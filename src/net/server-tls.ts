// A listener's TLS settings (docs/security.md): the certificate, key and client CA read from
// their files, checked, and read again every reload_interval so that a renewed certificate is
// served to new connections without a restart. Connections already open keep the certificate
// they were made with. Both kinds of listener take it: the Fastify ones (http-server.ts) and
// OTLP gRPC (grpc-credentials.ts).
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { ConfigError } from '../config/load.js';
import type { TlsConfig } from '../config/security-schema.js';
import type { Logger } from '../telemetry/logger.js';

/** The certificate, key and client CA a secure context is made of: what `setSecureContext` takes. */
export type TlsContext = Pick<SecureContextOptions, 'cert' | 'key' | 'ca' | 'minVersion'>;

export interface ServerTls {
  /** The config key the settings came from (`server.tls`), for logs and errors. */
  readonly key: string;
  /** Whether clients must present a certificate the client CA signed. */
  readonly mutual: boolean;
  /** What a TLS server is created with: the handshake's rules (client certificates, lowest version) and the current context. */
  serverOptions(): TlsOptions;
  /** The newest context that loaded. */
  context(): TlsContext;
  /** Calls `listener` with each context loaded after start; returns the unsubscribe. */
  onReload(listener: (context: TlsContext) => void): () => void;
  /** Stops reading the files again. */
  close(): void;
}

const MIN_VERSIONS = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' } as const;

/** The files as read: the context is made only of bytes that were checked together. */
interface Files {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

/**
 * Reads and checks the files now: a file that cannot be read, a certificate or key that does not
 * parse, a key that is not the certificate's, or a client CA file without a certificate throws
 * a ConfigError naming the key and the file, so a bad file stops start-up. Afterwards they are
 * read every `reload_interval` (0: never); a change that does not load is logged and the
 * previous context kept.
 */
export function openServerTls(config: TlsConfig, key: string, logger: Logger): ServerTls {
  const log = logger.child({ component: 'tls', tls: key });
  const minVersion = MIN_VERSIONS[config.min_version];
  const mutual = config.client_ca_file !== '';
  const paths = { cert: config.cert_file, key: config.key_file, ca: mutual ? config.client_ca_file : undefined };

  const syncRead = (field: keyof typeof paths): Buffer | undefined => {
    const path = paths[field];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${key}.${fileKey(field)} ${path}: ${(err as Error).message}`);
    }
  };
  let files: Files = { cert: syncRead('cert')!, key: syncRead('key')!, ca: syncRead('ca') };
  const checked = check(files, paths, key, minVersion);
  if ('error' in checked) throw new ConfigError(checked.error);
  let context = checked.context;
  log.info({ ...describe(checked.leaf), clientCertificates: mutual ? 'required' : 'not asked', minVersion }, 'TLS certificate loaded');
  warnIfExpired(checked.leaf, log);

  const listeners = new Set<(context: TlsContext) => void>();
  /** The last files that failed, and the last read error, so a bad or missing file left in place is logged once, not every interval. */
  let lastFailure: Files | undefined;
  let lastReadError: string | undefined;
  let reading = false;
  const reload = async (): Promise<void> => {
    if (reading) return;
    reading = true;
    try {
      const read = async (path: string | undefined) => (path === undefined ? undefined : readFile(path));
      let next: Files;
      try {
        const [cert, keyPem, ca] = await Promise.all([read(paths.cert), read(paths.key), read(paths.ca)]);
        next = { cert: cert!, key: keyPem!, ca };
      } catch (err) {
        // A file being replaced (a Kubernetes secret's symlink swap) can be missing for a moment: the next read sees it.
        const message = (err as Error).message;
        if (message !== lastReadError) log.warn({ err: message }, 'TLS files could not be read; the current certificate stays in use');
        lastReadError = message;
        return;
      }
      lastReadError = undefined;
      if (sameFiles(next, files) || (lastFailure && sameFiles(next, lastFailure))) return;
      const result = check(next, paths, key, minVersion);
      if ('error' in result) {
        lastFailure = next;
        log.error({ err: result.error }, 'TLS files changed but could not be used; the previous certificate stays in use');
        return;
      }
      files = next;
      lastFailure = undefined;
      context = result.context;
      log.info(describe(result.leaf), 'TLS certificate reloaded: new connections use it');
      warnIfExpired(result.leaf, log);
      for (const listener of listeners) listener(context);
    } finally {
      reading = false;
    }
  };
  const timer = config.reload_interval > 0 ? setInterval(() => void reload(), config.reload_interval) : undefined;
  timer?.unref();

  return {
    key,
    mutual,
    serverOptions: () => ({ ...context, requestCert: mutual, rejectUnauthorized: mutual }),
    context: () => context,
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      clearInterval(timer);
      listeners.clear();
    },
  };
}

function fileKey(field: 'cert' | 'key' | 'ca'): string {
  return field === 'cert' ? 'cert_file' : field === 'key' ? 'key_file' : 'client_ca_file';
}

/** Checks the files as a server would use them; the error names the key and file at fault. */
function check(
  files: Files,
  paths: { cert: string; key: string; ca: string | undefined },
  key: string,
  minVersion: TlsContext['minVersion'],
): { context: TlsContext; leaf: X509Certificate } | { error: string } {
  let leaf: X509Certificate;
  try {
    // The first certificate of the file is the server's own; the rest is its chain.
    leaf = new X509Certificate(files.cert);
  } catch (err) {
    return { error: `${key}.cert_file ${paths.cert}: not a PEM certificate (${(err as Error).message})` };
  }
  if (files.ca !== undefined) {
    // Node accepts a CA file without any certificate in it silently; every client would then be refused.
    const blocks = files.ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) return { error: `${key}.client_ca_file ${paths.ca}: no PEM certificate in it` };
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (err) {
        return { error: `${key}.client_ca_file ${paths.ca}: a certificate in it does not parse (${(err as Error).message})` };
      }
    }
  }
  const context: TlsContext = { cert: files.cert, key: files.key, ...(files.ca && { ca: files.ca }), minVersion };
  try {
    createSecureContext(context);
  } catch (err) {
    const message = (err as Error).message;
    const field = /key values mismatch/.test(message) ? `cert_file ${paths.cert} and key_file ${paths.key} do not go together` : `key_file ${paths.key}`;
    return { error: `${key}: ${field}: ${message}` };
  }
  return { context, leaf };
}

function sameFiles(a: Files, b: Files): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca));
}

/** What identifies a certificate in the logs (never the key). */
function describe(leaf: X509Certificate): Record<string, string> {
  return { subject: leaf.subject.replaceAll('\n', ', '), serialNumber: leaf.serialNumber, fingerprint256: leaf.fingerprint256, validTo: new Date(leaf.validTo).toISOString() };
}

function warnIfExpired(leaf: X509Certificate, log: Logger): void {
  const validTo = new Date(leaf.validTo).getTime();
  const validFrom = new Date(leaf.validFrom).getTime();
  const now = Date.now();
  if (validTo < now) log.warn({ validTo: new Date(validTo).toISOString() }, 'the TLS certificate has expired: verifying clients refuse it until it is renewed');
  else if (validFrom > now) log.warn({ validFrom: new Date(validFrom).toISOString() }, 'the TLS certificate is not valid yet: verifying clients refuse it');
}
