// A TLS-terminating TCP proxy in front of a plain listener, as a load balancer in front
// of Skein would be: TLS (HTTP/1.1, or HTTP/2 for gRPC by ALPN) on the outside, the bytes
// passed unchanged to the listener inside. Lets the clients' tests make real TLS
// handshakes (CA, client certificates) against a real Skein.
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createServer } from 'node:tls';

export interface TlsProxy {
  /** host:port of the TLS side. */
  addr: string;
  close(): Promise<void>;
}

export interface TlsProxyOptions {
  /** host:port of the plain listener behind. */
  target: string;
  certFile: string;
  keyFile: string;
  /** Asks every client for a certificate signed by this CA, and refuses one without (mTLS). */
  clientCaFile?: string;
}

export async function startTlsProxy(opts: TlsProxyOptions): Promise<TlsProxy> {
  const [host, port] = splitHostPort(opts.target);
  const sockets = new Set<Socket>();
  const server = createServer(
    {
      cert: readFileSync(opts.certFile),
      key: readFileSync(opts.keyFile),
      ALPNProtocols: ['h2', 'http/1.1'],
      ...(opts.clientCaFile ? { ca: readFileSync(opts.clientCaFile), requestCert: true, rejectUnauthorized: true } : {}),
    },
    (outside) => {
      const inside = connect(port, host);
      for (const s of [outside, inside]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          outside.destroy();
          inside.destroy();
        });
      }
      outside.pipe(inside).pipe(outside);
    },
  );
  // A refused handshake is what some tests want; it must not end the test process.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as AddressInfo;
  return {
    addr: `127.0.0.1:${proxyPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i), Number(addr.slice(i + 1))];
}
