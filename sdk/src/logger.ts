// pino, with the active span's IDs on every record, so that a log line leads
// to its trace (Grafana's Loki derived field matches `"trace_id":"…"`).
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export type LogFormat = 'json' | 'text';

export interface LoggerSettings {
  /** Added to every record as `service`. */
  name?: string;
  /** Default LOG_LEVEL, else info. */
  level?: string;
  /** Default LOG_FORMAT, else text. */
  format?: LogFormat;
  /** Default standard output. */
  destination?: DestinationStream;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** LOG_FORMAT as given, or a specific complaint (the caller decides what to do with it). */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): { format: LogFormat; problem?: string } {
  const raw = env['LOG_FORMAT']?.trim().toLowerCase();
  if (raw === undefined || raw === '') return { format: 'text' };
  if (raw === 'json' || raw === 'text') return { format: raw };
  return { format: 'text', problem: `LOG_FORMAT=${JSON.stringify(env['LOG_FORMAT'])} is not json or text; using text` };
}

/** trace_id and span_id of the span active where the record is written, if any. */
export function activeSpanFields(): { trace_id?: string; span_id?: string } {
  const ctx = trace.getActiveSpan()?.spanContext();
  if (!ctx || !isSpanContextValid(ctx)) return {};
  return { trace_id: ctx.traceId, span_id: ctx.spanId };
}

/** One readable line per record: `time LEVEL msg key=value …`. */
function textDestination(out: NodeJS.WritableStream): DestinationStream {
  const names: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
  return {
    write(line: string) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level, msg, ...rest } = rec;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
        .join(' ');
      const when = typeof time === 'number' ? new Date(time).toISOString() : String(time);
      out.write(`${when} ${names[Number(level)] ?? String(level)} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`);
    },
  };
}

/**
 * A pino logger. With LOG_FORMAT=json each record is one JSON line carrying
 * `trace_id` and `span_id` of the active span; with text (the default) the
 * same fields in a human-readable line.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const envLevel = process.env['LOG_LEVEL']?.trim().toLowerCase();
  const level = settings.level ?? (envLevel && LEVELS.includes(envLevel) ? envLevel : 'info');
  const format = settings.format ?? logFormatFromEnv().format;
  const options: LoggerOptions = {
    level,
    base: settings.name ? { service: settings.name } : {},
    timestamp: format === 'json' ? pino.stdTimeFunctions.isoTime : pino.stdTimeFunctions.epochTime,
    formatters: { level: (label, number) => (format === 'json' ? { level: label } : { level: number }) },
    mixin: activeSpanFields,
  };
  const destination = settings.destination ?? (format === 'json' ? pino.destination({ dest: 1, sync: true }) : textDestination(process.stdout));
  const logger = pino(options, destination);
  if (envLevel && !LEVELS.includes(envLevel) && settings.level === undefined) {
    logger.warn(`LOG_LEVEL=${JSON.stringify(process.env['LOG_LEVEL'])} is not one of ${LEVELS.join(', ')}; using info`);
  }
  return logger;
}
