#!/usr/bin/env node
// `skein`: thin commands over the components.
import { Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { ConfigError, loadConfig } from '../config/load.js';
import { renderConfig } from '../config/render.js';
import { createLogger } from '../telemetry/logger.js';
import { decodeOtlpJson, encodeOtlpJson } from '../otlp/json.js';
import { parseTraceId } from '../query/trace-id.js';
import { SKEIN_VERSION } from '../version.js';
import { startSkein, TARGETS, type Target } from '../skein.js';
import { renderTraceTree } from './trace-tree.js';

const program = new Command('skein').description('Skein: a distributed-tracing backend').version(SKEIN_VERSION);

program
  .command('serve')
  .description('run Skein (receivers, store and query API by default)')
  .option('--config <file>', 'YAML configuration file (env SKEIN_CONFIG)')
  .option('--data-dir <dir>', 'data directory, overrides storage.path (env SKEIN_DATA_DIR)')
  .addOption(new Option('--target <target>', 'which components to run').choices(TARGETS).default('all'))
  .action(async (opts: { config?: string; dataDir?: string; target: Target }) => {
    const config = loadConfig({
      file: opts.config ?? process.env['SKEIN_CONFIG'],
      overrides: opts.dataDir ? [{ path: ['storage', 'path'], value: opts.dataDir }] : [],
    });
    const logger = createLogger(config.server.log_level);
    const skein = await startSkein(config, logger, opts.target);
    logger.info({ ...skein.addresses, target: opts.target, dataDir: config.storage.path }, 'skein ready');
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      skein.close().then(
        () => {
          logger.info('stopped');
          logger.flush();
          process.exitCode = 0;
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          logger.flush();
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

const config = program.command('config').description('inspect and validate configuration');
config
  .command('print-defaults')
  .description('print the configuration Skein runs with when given no file')
  .action(() => {
    process.stdout.write(toYaml(renderConfig(loadConfig({ env: {} }))));
  });
config
  .command('check')
  .argument('<file>', 'YAML configuration file')
  .description('validate a configuration file (and the SKEIN_* environment overrides)')
  .action((file: string) => {
    loadConfig({ file });
    console.log(`${file}: valid`);
  });

program
  .command('query')
  .argument('<traceId>', 'trace ID in hex')
  .description('print a trace as a tree')
  .option('--server <url>', 'Skein query API', `http://${process.env['SKEIN_HTTP_ADDR'] ?? '127.0.0.1:3200'}`)
  .option('--tenant <id>', 'tenant (X-Scope-OrgID)')
  .option('--json', 'print the trace as OTLP/JSON instead')
  .action(async (traceIdText: string, opts: { server: string; tenant?: string; json?: boolean }) => {
    const id = parseTraceId(traceIdText);
    if ('error' in id) throw new CliError(id.error);
    const res = await fetch(`${opts.server.replace(/\/$/, '')}/api/traces/${id.traceId}`, {
      headers: opts.tenant ? { 'X-Scope-OrgID': opts.tenant } : {},
    }).catch((err: Error) => {
      throw new CliError(`cannot reach ${opts.server}: ${err.cause instanceof Error ? err.cause.message : err.message}`);
    });
    const body = await res.text();
    if (res.status === 404) throw new CliError(`trace ${id.traceId} not found`);
    if (!res.ok) throw new CliError(`${opts.server} answered ${res.status}: ${body}`);
    const batch = decodeOtlpJson(body, { ids: 'base64' });
    if (opts.json) {
      console.log(JSON.stringify(encodeOtlpJson(batch, { ids: 'hex' }), null, 2));
    } else {
      console.log(renderTraceTree(id.traceId, batch));
    }
  });

class CliError extends Error {}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof CliError) {
    console.error(`skein: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
