/** Streams and environment the CLI works with (injected by tests). */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Input of commands that read lines (`explain` without arguments). */
  stdin?: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** Output of the stdout backend (default: `stdout`); see shared/stdout.ts. */
  backendStdout?: () => NodeJS.WritableStream;
  /**
   * The SIGHUP listener the entry point installs before loading anything, so a SIGHUP
   * during start-up never meets Node's default action (terminate). A command removes it
   * with {@link releaseStartupHangup} once it has its own, or at once if it takes none.
   */
  startupHangup?: () => void;
}

/** Removes the entry point's start-up SIGHUP listener (see {@link CliIo.startupHangup}). */
export function releaseStartupHangup(io: CliIo): void {
  if (io.startupHangup !== undefined) process.off('SIGHUP', io.startupHangup);
}
