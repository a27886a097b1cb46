// Zipkin v2 in, OTLP out: the two encodings of Zipkin's `POST /api/v2/spans`
// decoded into the span model, mapped as the OpenTelemetry Collector's zipkin
// receiver maps them (see zipkin/translate.ts for the rules and where Skein
// differs). Both throw OtlpDecodeError, and nothing else, on malformed input.
import type { ResourceSpans } from './model.js';
import { parseZipkinJson } from './zipkin/json.js';
import { parseZipkinProto } from './zipkin/proto.js';
import { zipkinToOtlp, type ZipkinTranslateOptions } from './zipkin/translate.js';

export type ZipkinDecodeOptions = ZipkinTranslateOptions;

/** A Zipkin v2 JSON span list (`application/json`). */
export function decodeZipkinV2Json(body: string | Uint8Array, opts: ZipkinDecodeOptions = {}): ResourceSpans[] {
  return zipkinToOtlp(parseZipkinJson(body), opts);
}

/** A Zipkin v2 protobuf ListOfSpans (`application/x-protobuf`). */
export function decodeZipkinV2Proto(body: Uint8Array, opts: ZipkinDecodeOptions = {}): ResourceSpans[] {
  return zipkinToOtlp(parseZipkinProto(body), opts);
}
