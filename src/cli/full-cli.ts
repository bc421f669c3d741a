import { COMPONENTS } from '../daemon/components.js';
import { releaseStartupHangup, type CliIo } from './io.js';
import yargs, { type Argv } from 'yargs';
import { formatIssues, errorMessage } from '../shared/errors.js';
import { loadRawConfig, validateLoaded } from '../config/load.js';
import { flagOptions, flagsToConfigOverrides } from './flags.js';
import { packageVersion } from './version.js';
import { EPILOG, EXIT, runCommand } from './run-command.js';
import { runSink } from '../sink/sink.js';
import { createLogger } from '../shared/logger.js';
import type { InjectorOptions } from '../injector/injector.js';

/** The options of the commands that talk to a running daemon's admin server. */
const DEBUG_CLIENT_OPTIONS = {
  'web-addr': {
    type: 'string',
    default: '127.0.0.1:8181',
    describe: "The daemon's admin server (its web-addr; kubectl port-forward to reach a pod's)",
  },
} as const;

/**
 * The whole command line with yargs: every command, `--help`, `--version` and the usage
 * errors. Resolves with the process exit code; never exits by itself (only main.ts does).
 */
export async function runFullCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.OK;
  let usageError: string | undefined;
  const parser: Argv = yargs(argv)
    .scriptName('statsd-sepagent')
    .parserConfiguration({ 'camel-case-expansion': false, 'dot-notation': false, 'duplicate-arguments-array': false })
    .usage('$0 [run] [options]\n\nStatsD aggregation sidecar that forwards per-SEP statistics to SepAgent.')
    .command(
      ['run', '$0'],
      'Run the daemon (default command)',
      (y) => y.options(flagOptions(COMPONENTS)).epilog(EPILOG).strict(),
      async (args) => {
        if (usageError !== undefined) return; // yargs still calls the handler after .fail()
        const r = await runCommand(args, io);
        if (typeof r === 'number') exitCode = r;
        else usageError = r.usage;
      },
    )
    .command(
      'check-config [file]',
      'Validate a config file (with GSD_* variables and flags applied) and print every problem; exit 0 if valid, 1 if not',
      (y) =>
        y
          .positional('file', { type: 'string', describe: 'Config file; default: --config-path' })
          .options(flagOptions(COMPONENTS))
          .epilog(EPILOG)
          .strict(),
      async (args) => {
        if (usageError !== undefined) return;
        const file =
          typeof args.file === 'string'
            ? args.file
            : typeof args['config-path'] === 'string'
              ? args['config-path']
              : undefined;
        releaseStartupHangup(io);
        exitCode = await checkConfig(file, flagsToConfigOverrides(args, COMPONENTS), io);
      },
    )
    .command(
      'explain [lines..]',
      'Show what the daemon does with each line under a configuration: parse result, series, and what every configured backend sends or why it leaves it out (lines from the arguments or stdin)',
      (y) =>
        y
          // The lines are repeated positionals: keep them all.
          .parserConfiguration({
            'camel-case-expansion': false,
            'dot-notation': false,
            'duplicate-arguments-array': true,
          })
          .positional('lines', { type: 'string', array: true, describe: 'StatsD lines; none: one per line on stdin' })
          .options({
            ...flagOptions(COMPONENTS),
            json: { type: 'boolean', default: false, describe: 'One JSON object per line, for tools' },
            'source-host': {
              type: 'string',
              default: '127.0.0.1',
              describe: 'The sender address the lines appear to come from',
            },
          })
          .epilog(EPILOG)
          .strict(),
      async (args) => {
        if (usageError !== undefined) return;
        releaseStartupHangup(io);
        const { explainCommand } = await import('./explain.js');
        const { json, 'source-host': sourceHost, lines, ...rest } = args;
        exitCode = await explainCommand(
          {
            configPath: typeof args['config-path'] === 'string' ? args['config-path'] : undefined,
            flags: flagsToConfigOverrides(rest, COMPONENTS),
            lines: (lines ?? []).map(String),
            json,
            sourceHost,
          },
          io,
        );
      },
    )
    .command(
      'tap',
      'Stream what a running daemon receives, rejects (with the reason) or leaves out, live, from /debug/tap (needs debug-endpoints = "tap")',
      (y) =>
        y
          .options({
            ...DEBUG_CLIENT_OPTIONS,
            kind: {
              type: 'string',
              default: 'received,rejected,unmatched',
              describe: 'What to show: received, rejected, unmatched, datagram (comma-separated)',
            },
            match: { type: 'string', describe: 'Only metric names matching this glob (envoy.cluster.*)' },
            count: { type: 'number', default: 100, describe: 'Stop after this many records' },
            duration: { type: 'string', default: '10s', describe: 'Stop after this long (at most 10m)' },
            json: { type: 'boolean', default: false, describe: 'The records as NDJSON' },
          })
          .strict(),
      async (args) => {
        if (usageError !== undefined) return;
        releaseStartupHangup(io);
        const { tapCommand } = await import('./debug-tools.js');
        exitCode = await tapCommand(
          {
            webAddr: args['web-addr'],
            kinds: args.kind,
            match: args.match,
            count: args.count,
            duration: args.duration,
            json: args.json,
          },
          io,
        );
      },
    )
    .command(
      'capture',
      'Write the datagrams a running daemon receives, with their times, to a file for replay (needs debug-endpoints = "tap")',
      (y) =>
        y
          .options({
            ...DEBUG_CLIENT_OPTIONS,
            out: { type: 'string', demandOption: true, describe: 'The capture file (NDJSON)' },
            count: { type: 'number', default: 100_000, describe: 'Stop after this many datagrams' },
            duration: { type: 'string', default: '60s', describe: 'Stop after this long (at most 10m)' },
          })
          .strict(),
      async (args) => {
        if (usageError !== undefined) return;
        releaseStartupHangup(io);
        const { captureCommand } = await import('./debug-tools.js');
        exitCode = await captureCommand(
          { webAddr: args['web-addr'], out: args.out, count: args.count, duration: args.duration },
          io,
        );
      },
    )
    .command(
      'replay <file>',
      'Send the datagrams of a capture over UDP again, with their original spacing',
      (y) =>
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'A file written by capture' })
          .options({
            to: { type: 'string', default: '127.0.0.1:8125', describe: 'Where to send (host:port, UDP)' },
            speed: {
              type: 'number',
              default: 1,
              describe: 'Speed-up of the original spacing (10 = ten times faster; 0 = no waiting)',
            },
          })
          .strict(),
      async (args) => {
        if (usageError !== undefined) return;
        releaseStartupHangup(io);
        const { replayCommand } = await import('./debug-tools.js');
        exitCode = await replayCommand({ file: args.file, to: args.to, speed: args.speed }, io);
      },
    )
    .command(
      'top',
      'Show the metric names of a running daemon with the most samples and the most new series, with their tag keys (from /debug/metrics)',
      (y) =>
        y
          .options({
            ...DEBUG_CLIENT_OPTIONS,
            limit: { type: 'number', default: 10, describe: 'Names per table (1-200)' },
            json: { type: 'boolean', default: false, describe: 'The JSON of /debug/metrics' },
          })
          .strict(),
      async (args) => {
        if (usageError !== undefined) return;
        releaseStartupHangup(io);
        const { topCommand } = await import('./debug-tools.js');
        exitCode = await topCommand({ webAddr: args['web-addr'], limit: args.limit, json: args.json }, io);
      },
    )
    .command(
      'injector',
      'Run the admission webhook that adds the sidecar to opted-in pods, and keep class ConfigMaps copied to their namespaces (docs/injector.md)',
      (y) =>
        y
          .options({
            settings: {
              type: 'string',
              demandOption: true,
              describe:
                'YAML or JSON settings: image, resources, SepAgent address, … (docs/injector.md) [env INJECTOR_SETTINGS]',
            },
            listen: { type: 'string', default: ':8443', describe: 'HTTPS address of the webhook' },
            'web-addr': {
              type: 'string',
              default: ':8080',
              describe: 'HTTP address of /metrics, /healthz, /readyz; "" = off',
            },
            'tls-cert-file': {
              type: 'string',
              demandOption: true,
              describe: 'Serving certificate (PEM); re-read when it changes',
            },
            'tls-key-file': { type: 'string', demandOption: true, describe: 'Its private key (PEM)' },
            namespace: {
              type: 'string',
              describe:
                "Namespace of the classes; default: POD_NAMESPACE, the service account's, the kubeconfig context's",
            },
            kubeconfig: {
              type: 'string',
              describe: 'kubeconfig file; default: KUBECONFIG, ~/.kube/config, in-cluster',
            },
            'log-format': { choices: ['json', 'text'] as const, default: 'json' as const, describe: 'Log format' },
            verbose: { type: 'boolean', default: false, describe: 'Debug logging' },
          })
          .env('INJECTOR')
          .strict(),
      async (args) => {
        if (usageError !== undefined) return;
        releaseStartupHangup(io);
        exitCode = await injectorCommand(
          {
            settingsPath: args.settings,
            listen: args.listen,
            webAddr: args['web-addr'],
            certFile: args['tls-cert-file'],
            keyFile: args['tls-key-file'],
            ...(args.namespace !== undefined ? { namespace: args.namespace } : {}),
            ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}),
            env: io.env,
          },
          args['log-format'],
          args.verbose,
          io,
        );
      },
    )
    .command(
      'sink',
      'Listen like SepAgent and print every document received (try the daemon without the agent)',
      (y) =>
        y.options({
          host: { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' },
          port: { type: 'number', default: 5555, describe: 'UDP port to listen on' },
          format: {
            choices: ['pretty', 'json'] as const,
            default: 'pretty' as const,
            describe: 'pretty: a readable table per document; json: each datagram verbatim',
          },
        }),
      async (args) => {
        if (usageError !== undefined) return;
        releaseStartupHangup(io);
        exitCode = await sinkCommand(args.host, args.port, args.format, io);
      },
    )
    .strictOptions()
    .strictCommands()
    .version(packageVersion())
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      usageError = msg ?? errorMessage(err);
    });
  let output = '';
  await parser.parseAsync(argv, {}, (_err, _argv, out) => {
    output = out;
  });
  if (usageError !== undefined) {
    io.stderr.write(`statsd-sepagent: ${usageError}\nRun "statsd-sepagent --help" for usage.\n`);
    return EXIT.USAGE;
  }
  if (output !== '') io.stdout.write(output.endsWith('\n') ? output : output + '\n');
  return exitCode;
}

async function checkConfig(file: string | undefined, flags: Record<string, unknown>, io: CliIo): Promise<number> {
  const layers = file === undefined ? { flags, env: io.env } : { configPath: file, flags, env: io.env };
  const v = validateLoaded(await loadRawConfig(layers, COMPONENTS), COMPONENTS, io.env);
  const all = v.issues;
  const errors = all.filter((i) => i.severity === 'error');
  const name = file ?? '(flags and environment)';
  if (all.length > 0) io.stdout.write(`${name}:\n${formatIssues(all)}\n`);
  if (errors.length > 0) {
    io.stdout.write(`${name}: INVALID (${errors.length} error${errors.length === 1 ? '' : 's'})\n`);
    return EXIT.FAILURE;
  }
  io.stdout.write(`${name}: OK (backends: ${v.config?.backends.join(' ') ?? ''})\n`);
  return EXIT.OK;
}

async function sinkCommand(host: string, port: number, format: 'pretty' | 'json', io: CliIo): Promise<number> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr.write(`statsd-sepagent sink: --port must be 0-65535, got ${port}\n`);
    return EXIT.USAGE;
  }
  let sink;
  try {
    sink = await runSink({ host, port, format, out: io.stdout });
  } catch (err) {
    io.stderr.write(`statsd-sepagent sink: cannot listen on ${host}:${port}: ${errorMessage(err)}\n`);
    return EXIT.FAILURE;
  }
  io.stderr.write(`sink listening on udp ${host}:${sink.port}; Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await sink.close();
  return EXIT.OK;
}

async function injectorCommand(
  opts: Omit<InjectorOptions, 'logger'>,
  logFormat: 'json' | 'text',
  verbose: boolean,
  io: CliIo,
): Promise<number> {
  const logger = createLogger({ format: logFormat, level: verbose ? 'debug' : 'info', destination: io.stderr });
  // Loaded on demand: the daemon never needs the Kubernetes client.
  const { Injector } = await import('../injector/injector.js');
  const injector = new Injector({ ...opts, logger });
  try {
    await injector.start();
  } catch (err) {
    io.stderr.write(`statsd-sepagent injector: ${errorMessage(err)}\n`);
    await injector.shutdown();
    return EXIT.USAGE;
  }
  const sig = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal: sig }, 'injector stopping');
  await injector.shutdown();
  return EXIT.OK;
}
