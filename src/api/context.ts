// What the API routes need from the running process.
import type { SkeinConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';

export interface ApiContext {
  config: SkeinConfig;
  logger: Logger;
  /** Unset until WAL replay has finished (then /ready turns 200). */
  store: Store | undefined;
}
