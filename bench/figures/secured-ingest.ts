// What TLS and authentication cost on ingest: the reference workload sent to a
// plain receiver and to one with TLS and a bearer token, the two alternated run
// by run on fresh servers, as SDKs send (keep-alive connections, one token per
// exporter). The figure is spans per server CPU-second of each, and their ratio.
import { makeFigure, type BenchContext } from '../figure.js';
import { cpuSeconds } from '../proc-stats.js';
import { exportAllGrpc, postAll, type SendOptions, type SendResult } from '../senders.js';
import { withFreshServer } from '../server-under-test.js';
import { median, roundTo } from '../stats.js';
import { referenceRequests } from '../workload-cache.js';
import { CONNECTIONS } from './ingest.js';
import { createTestPki } from '../../test/helpers/certs.js';

export const SECURED_PROTOCOLS = ['http-protobuf', 'grpc'] as const;
type Protocol = (typeof SECURED_PROTOCOLS)[number];

const TOKEN = 'bench-token-0123456789abcdef';

export async function runSecuredIngest(ctx: BenchContext, spans: number): Promise<void> {
  const workload = referenceRequests(spans, 'protobuf', ctx.log);
  const pki = await createTestPki();
  const tls = `{ cert_file: ${JSON.stringify(pki.server.certFile)}, key_file: ${JSON.stringify(pki.server.keyFile)} }`;
  const securedYaml = [
    'receivers:',
    '  otlp:',
    '    protocols:',
    `      grpc: { tls: ${tls} }`,
    `      http: { tls: ${tls} }`,
    'auth:',
    `  bearer_tokens: [{ token: ${TOKEN}, tenant: bench, rights: [write, read, admin] }]`,
    '  listeners: { api: [] }',
    '',
  ].join('\n');
  const securedSend: SendOptions = { headers: { authorization: `Bearer ${TOKEN}` }, ca: Buffer.from(pki.ca.cert) };

  for (const protocol of SECURED_PROTOCOLS) {
    const plain: number[] = [];
    const secured: number[] = [];
    for (let run = 0; run < ctx.runs; run++) {
      // Alternated, so that drift in the machine's speed falls on both alike.
      for (const mode of ['plain', 'secured'] as const) {
        const perCpu = await withFreshServer(
          async ({ proc, pid }) => {
            const opts = mode === 'secured' ? securedSend : {};
            const cpu0 = cpuSeconds(pid);
            const send: SendResult =
              protocol === 'grpc'
                ? await exportAllGrpc(proc.grpcAddr, workload, CONNECTIONS, opts)
                : await postAll(`${proc.otlpHttpUrl}/v1/traces`, workload, 'protobuf', CONNECTIONS, opts);
            const serverCpu = cpuSeconds(pid) - cpu0;
            if (send.refusedSpans > 0) throw new Error(`${mode} ${protocol}: ${send.refusedSpans} spans refused (${send.refusalSamples.join('; ')})`);
            return send.acceptedSpans / serverCpu;
          },
          mode === 'secured' ? { configYaml: securedYaml } : {},
        );
        (mode === 'plain' ? plain : secured).push(perCpu);
        ctx.log(`secured-ingest ${protocol} ${mode} run ${run + 1}/${ctx.runs}: ${Math.round(perCpu)} spans/CPU-s`);
      }
    }
    const ratio = median(secured) / median(plain);
    const context = { protocol, spansSent: workload.spanCount, connections: CONNECTIONS, tls: true, auth: 'bearer' };
    ctx.emit(makeFigure(ctx, `secured-ingest.${protocol}.plain.cpu-efficiency`, 'spans/server-CPU-s', plain, context));
    ctx.emit(
      makeFigure(ctx, `secured-ingest.${protocol}.tls-bearer.cpu-efficiency`, 'spans/server-CPU-s', secured, {
        ...context,
        ratioToPlain: roundTo(ratio, 3),
        // The target: within 15 % of plain ingest.
        target: '>= 0.85 of plain',
      }),
    );
  }
}
