#!/usr/bin/env node
import { runCli } from './cli/cli.js';
import { nonBlockingStdout } from './shared/stdout.js';

// The only place that ends the process.
runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  backendStdout: nonBlockingStdout,
}).then(
  (code) => {
    process.exitCode = code;
    // Let stdout/stderr drain, then leave even if a handle lingers.
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(
      `statsd-sepagent: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
