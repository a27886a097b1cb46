// TLS for a grpc-js server from a listener's ServerTls, with the certificate reloaded and
// min_version applied.
//
// grpc-js (1.14) has no public way to do both. `ServerCredentials.createSsl` takes the
// certificate once, fixes the handshake options, and offers no minimum version. Its
// experimental `createCertificateProviderServerCredentials` with a `FileWatcherCertificateProvider`
// reloads, but (a) its parameters are named the wrong way round (the one called the CA provider
// is used as the identity provider; harmless only with one provider for both), (b) a file that cannot be read or parsed on a refresh makes
// the server drop every new connection until the next good read, instead of keeping the old
// certificate, (c) a bad file at start is no start-up error, only dropped connections, and
// (d) it fixes the server options too (no minVersion).
//
// What grpc-js does offer is the class those are built on: a ServerCredentials carries the
// options the HTTP/2 TLS server is created with (here requestCert, rejectUnauthorized and
// minVersion) and a secure context that it pushes to every server bound with it
// (`updateSecureContextOptions`, which calls `setSecureContext`). So this subclass is fed by
// ServerTls, which reads, checks and keeps the last good files, as for the Fastify listeners.
import { ServerCredentials } from '@grpc/grpc-js';
import type { ServerTls } from './server-tls.js';

class ReloadingServerCredentials extends ServerCredentials {
  constructor(tls: ServerTls) {
    const { cert, key, ca, minVersion, ...handshake } = tls.serverOptions();
    super({ ...handshake, minVersion }, { cert, key, ca, minVersion });
    tls.onReload((context) => this.updateSecureContextOptions(context));
  }

  /** grpc-js compares credentials when a port is bound twice; these are only ever equal to themselves. */
  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/** Credentials for `Server.bindAsync`: TLS as the listener's settings say, or plain text without them. */
export function grpcServerCredentials(tls: ServerTls | undefined): ServerCredentials {
  return tls ? new ReloadingServerCredentials(tls) : ServerCredentials.createInsecure();
}
