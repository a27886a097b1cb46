// Clients for TLS tests: a bare handshake (which certificate does a new connection get?) and
// an HTTPS request, each on a connection of its own, trusting what the test says to trust.
import { connect, type ConnectionOptions } from 'node:tls';
import { request } from 'node:https';

/** What a client may present and trust: a CA (PEM), a client certificate, the TLS versions it speaks. */
export interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
  minVersion?: ConnectionOptions['minVersion'];
  maxVersion?: ConnectionOptions['maxVersion'];
}

export type Handshake = { ok: true; fingerprint256: string; protocol: string } | { ok: false; code: string; message: string };

/**
 * Opens a new TLS connection to `hostPort`, verifying the server as `tls` says, and closes it
 * once the handshake ends: the certificate the server presented, or why the handshake failed.
 * (With TLS 1.3 a server refuses a client certificate only after this point: use a request.)
 */
export function handshake(hostPort: string, tls: ClientTls = {}): Promise<Handshake> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({
      host: hostPort.slice(0, i).replace(/^\[|\]$/g, ''),
      port: Number(hostPort.slice(i + 1)),
      // Both: the gRPC listener speaks only h2, the others HTTP/1.1.
      ALPNProtocols: ['h2', 'http/1.1'],
      ...tls,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      resolve({ ok: true, fingerprint256: cert.fingerprint256, protocol: socket.getProtocol() ?? '' });
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? '', message: err.message }));
  });
}

export interface HttpsAnswer {
  status: number;
  body: string;
}

/** One HTTPS request on a connection of its own; rejects with the TLS or connection error. */
export function httpsRequest(url: string, opts: ClientTls & { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<HttpsAnswer> {
  const { method = 'GET', headers = {}, body, ...tls } = opts;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A certificate verification failure as Node reports it (unknown issuer, expired, wrong name). */
export const CERTIFICATE_REFUSED = /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT|CERT_HAS_EXPIRED|UNABLE_TO_GET_ISSUER_CERT|ERR_TLS_CERT_ALTNAME_INVALID/;
