#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { V8_FLAGS_ENV, v8FlagsOf } from './shared/v8-flags.js';

// The lowest Node.js the program runs on (package.json's engines; the suite runs on it).
// Checked before anything else loads: on an older one the failures would be obscure
// (a TypeError in the Kubernetes client, in every forwarder attempt, in the injector).
const MIN_NODE = [22, 19, 0] as const;
const running = process.versions.node.split('.').map(Number);
const tooOld = MIN_NODE.findIndex((n, i) => (running[i] ?? 0) !== n);
if (tooOld >= 0 && (running[tooOld] ?? 0) < MIN_NODE[tooOld]!) {
  process.stderr.write(
    `statsd-sepagent: Node.js ${MIN_NODE.join('.')} or later is required; this is ${process.version} (${process.execPath})\n`,
  );
  process.exit(2);
}

// Until the command installs its own, a SIGHUP (a config reload, sent perhaps while the
// modules below still load) must not end the process, Node's default: the daemon's
// documents say one during start-up is ignored. Hence the dynamic imports below.
const startupHangup = (): void => undefined;
process.on('SIGHUP', startupHangup);
const { runCli } = await import('./cli/cli.js');
const { nonBlockingStdout } = await import('./shared/stdout.js');

// V8 lets the old generation grow to up to 4x its live size between full collections:
// for a daemon holding 100,000 series that slack alone is ~40 MB of resident memory.
// A 20 % margin costs a full (mostly concurrent) collection every few seconds under
// load instead (docs/performance.md#memory). `node --heap-growing-percent=N` overrides it.
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) {
  setFlagsFromString('--heap-growing-percent=20');
}

// V8 options that NODE_OPTIONS may not carry, set before the daemon starts: sidecars get
// `--no-maglev` from the chart and the injector (no mid-tier compiler: ~5 MB less per
// pod, docs/performance.md#memory-per-pod-2026-12-07).
for (const flag of v8FlagsOf(process.env[V8_FLAGS_ENV])) setFlagsFromString(flag);

// The only place that ends the process.
runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  backendStdout: nonBlockingStdout,
  startupHangup,
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
