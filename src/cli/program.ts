// `skein`'s commands, flags and actions: thin commands over the components. main.ts runs
// them; the README's command list is checked against what is registered here.
import { Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { loadConfig } from '../config/load.js';
import { renderConfig } from '../config/render.js';
import { createLogger, silentLogger } from '../telemetry/logger.js';
import { decodeOtlpJson, encodeOtlpJson } from '../otlp/json.js';
import { parseTraceId } from '../query/trace-id.js';
import { SKEIN_VERSION } from '../version.js';
import { startSkein } from '../skein.js';
import { TARGETS, type Target } from '../config/targets.js';
import { renderTraceTree } from './trace-tree.js';
import { renderSearchTable, type SearchTraceJson } from './search-table.js';
import { renderQuarantineTable, type QuarantineAnswerJson } from './quarantine-table.js';
import { parseDuration } from '../config/units.js';
import { registerGrafanaCommands } from './grafana.js';
import { getFromServer, getJsonFromServer, NOT_SKEIN, withServerOptions, type ServerOptions } from './api-client.js';
import { CliError } from './cli-error.js';
import { Overrides } from '../config/overrides.js';

/** What /api/v2/search/tags or …/tag/NAME/values answers. */
type TagsAnswer =
  | { scopes: Array<{ name: string; tags: string[] }>; truncated?: boolean }
  | { tagValues: Array<{ type: string; value: string }>; truncated?: boolean };

/** The `skein` command with every subcommand registered; parse it with parseAsync. */
export function createProgram(): Command {
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
        // The last head cut of a large head can take longer than the operator allows. Everything
        // acknowledged is already in the WAL, so stopping without the cut loses nothing: the next
        // start replays it.
        const timeoutMs = config.server.shutdown_timeout;
        setTimeout(() => {
          void skein.unwrittenSpans().then((spansInWal) => {
            logger.warn(
              { signal, shutdownTimeoutMs: timeoutMs, spansInWal },
              `server.shutdown_timeout reached: exiting without waiting for the last head cut; ${spansInWal} spans stay in the write-ahead log and are replayed at the next start`,
            );
            logger.flush(() => process.exit(0));
          });
        }, timeoutMs).unref();
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
    .description('validate a configuration file (and the SKEIN_* environment overrides, and the per-tenant overrides file it names)')
    .action((file: string) => {
      Overrides.open(loadConfig({ file }), silentLogger).close();
      console.log(`${file}: valid`);
    });

  withServerOptions(program.command('query').argument('<traceId>', 'trace ID in hex').description('print a trace as a tree'))
    .option('--json', 'print the trace as OTLP/JSON instead')
    .action(async (traceIdText: string, opts: ServerOptions & { json?: boolean }) => {
      const id = parseTraceId(traceIdText);
      if ('error' in id) throw new CliError(id.error);
      const path = `/api/traces/${id.traceId}`;
      const res = await getFromServer(opts, path, [404]);
      if (res.status === 404) {
        // Skein's answer says "trace not found" (and why it may be incomplete); anything else is not Skein's.
        if (!res.body.startsWith('trace not found')) throw new CliError(`${res.server} answered 404 to GET ${path}: ${res.body.trim() || 'an empty body'}; ${NOT_SKEIN}`);
        throw new CliError(`trace ${id.traceId} not found on ${res.server}${res.body.slice('trace not found'.length)}`);
      }
      let batch;
      try {
        batch = decodeOtlpJson(res.body, { ids: 'base64' });
      } catch (err) {
        throw new CliError(`${res.server} answered GET ${path} with something that is not a trace (${(err as Error).message}): ${NOT_SKEIN}`);
      }
      if (opts.json) {
        console.log(JSON.stringify(encodeOtlpJson(batch, { ids: 'hex' }), null, 2));
      } else {
        console.log(renderTraceTree(id.traceId, batch));
      }
    });

  withServerOptions(program.command('tags').description('list tag names by scope (what TraceQL autocomplete offers), or the values of one tag'))
    .option('--scope <scope>', 'only this scope: resource, span, event, link, instrumentation or intrinsic')
    .option('--values <name>', 'list the values of this tag instead, a TraceQL identifier: resource.service.name, span.http.route, name, status …')
    .option('-q, --query <traceql>', 'only names or values on spans this spanset filter matches, e.g. { resource.service.name = "cart" }')
    .option('--json', 'print the JSON answer of the API instead')
    .action(async (opts: ServerOptions & { scope?: string; values?: string; query?: string; json?: boolean }) => {
      const params = new URLSearchParams();
      if (opts.scope !== undefined && opts.values === undefined) params.set('scope', opts.scope);
      if (opts.query !== undefined) params.set('q', opts.query);
      // The API decodes a tag name twice, as Grafana encodes it.
      const path =
        opts.values !== undefined ? `/api/v2/search/tag/${encodeURIComponent(encodeURIComponent(opts.values))}/values` : '/api/v2/search/tags';
      const { answer } = await getJsonFromServer<TagsAnswer>(opts, `${path}${params.size > 0 ? `?${params}` : ''}`);
      if (opts.json) {
        console.log(JSON.stringify(answer, null, 2));
        return;
      }
      const lines: string[] = [];
      if ('tagValues' in answer) {
        for (const v of answer.tagValues) lines.push(v.type === 'string' ? v.value : `${v.value}\t(${v.type})`);
        if (answer.truncated) lines.push('… more values exist: the answer was cut at the server\'s limit');
      } else {
        for (const scope of answer.scopes) {
          if (answer.scopes.length === 1) lines.push(...scope.tags);
          else lines.push(`${scope.name}:`, ...scope.tags.map((t) => `  ${t}`));
        }
        if (answer.truncated) lines.push('… more names exist: the answer was cut at the server\'s limit');
      }
      if (lines.length > 0) console.log(lines.join('\n'));
    });

  withServerOptions(
    program
      .command('search')
      .argument('<query>', 'TraceQL, e.g. \'{ resource.service.name = "cart" && status = error }\'')
      .description('list the most recent traces matching a TraceQL query'),
  )
    .option('--since <duration>', 'how far back to search', '1h')
    .option('--limit <n>', 'most traces to list (server default when not given)')
    .option('--json', 'print the API response as JSON instead')
    .action(async (query: string, opts: ServerOptions & { since: string; limit?: string; json?: boolean }) => {
      const sinceMs = parseDuration(opts.since);
      if (sinceMs === undefined || sinceMs <= 0) throw new CliError(`invalid --since ${JSON.stringify(opts.since)}: expected a duration such as 15m, 1h or 2d`);
      const end = Math.floor(Date.now() / 1000);
      const params = new URLSearchParams({ q: query, start: String(end - Math.ceil(sinceMs / 1000)), end: String(end) });
      if (opts.limit !== undefined) params.set('limit', opts.limit);
      const { answer: result } = await getJsonFromServer<{ traces: SearchTraceJson[] }>(opts, `/api/search?${params}`);
      console.log(opts.json ? JSON.stringify(result, null, 2) : renderSearchTable(result.traces));
    });

  const quarantine = program.command('quarantine').description('spans no block could hold, kept aside by head cuts (docs/api.md)');
  withServerOptions(quarantine.command('list').description("list the tenant's quarantine objects, newest first: ID, time, spans, error"))
    .option('--json', 'print the JSON answer of the API instead')
    .action(async (opts: ServerOptions & { json?: boolean }) => {
      const { answer } = await getJsonFromServer<QuarantineAnswerJson>(opts, '/api/skein/quarantine');
      console.log(opts.json ? JSON.stringify(answer, null, 2) : renderQuarantineTable(answer));
    });

  registerGrafanaCommands(program, (message) => new CliError(message));
  return program;
}
