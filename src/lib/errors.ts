// Errors a consumer may raise that receivers translate into OTLP's retryable
// refusals (429 / RESOURCE_EXHAUSTED with RetryInfo). Kept free of imports so
// that every stage, down to the store, can raise them cheaply.

/** Data refused because a stage is full or behind; the client should retry later. */
export class OverloadError extends Error {
  override name = 'OverloadError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
