#!/usr/bin/env node
// `skein`: runs the command line (program.ts) and turns a user's or a server's error into one line.
import { ConfigError } from '../config/load.js';
import { CliError } from './cli-error.js';
import { createProgram } from './program.js';

createProgram().parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof CliError) {
    console.error(`skein: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
