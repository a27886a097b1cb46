// The reference backend: sessions, upload reservations and the payment ledger,
// called over HTTP by the API so that each trace crosses a process boundary.
import { randomUUID } from 'node:crypto';
import { withSpan } from '@skein/instrument';
import { createService, serve, serverSpan } from './common.js';

const service = createService(process.env['OTEL_SERVICE_NAME'] ?? 'reference-backend');
const { app, logger } = service;
const ledger: Array<{ id: string; type: string; amount: number }> = [];

app.post<{ Body: { user?: string } }>('/sessions', (req, reply) =>
  withSpan('session.create', serverSpan(req, '/sessions'), async (span) => {
    const session = randomUUID();
    span.setAttribute('session.user_hash', String(req.body?.user ?? ''));
    logger.info('session created');
    return reply.code(201).send({ session });
  }),
);

app.post<{ Body: { size?: number; chunks?: number } }>('/uploads', (req, reply) =>
  withSpan('upload.reserve', serverSpan(req, '/uploads'), async (span) => {
    const uploadId = randomUUID();
    span.setAttributes({ 'track.upload.id': uploadId, 'track.upload.chunks': Number(req.body?.chunks ?? 0) });
    logger.info({ uploadId }, 'upload reserved');
    return reply.code(201).send({ uploadId });
  }),
);

app.post<{ Body: { id?: string; type?: string; amount?: number } }>('/payments/events', (req, reply) =>
  withSpan('payment.record', serverSpan(req, '/payments/events'), async (span) => {
    const { id = '', type = '', amount = 0 } = req.body ?? {};
    if (ledger.some((e) => e.id === id)) {
      span.setAttribute('payment.duplicate', true);
      return reply.code(200).send({ recorded: false });
    }
    ledger.push({ id, type, amount });
    logger.info({ eventId: id, type }, 'payment event recorded');
    return reply.code(201).send({ recorded: true });
  }),
);

await serve(service, 8081);
