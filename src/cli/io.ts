/** Streams and environment the CLI works with (injected by tests). */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Output of the stdout backend (default: `stdout`); see shared/stdout.ts. */
  backendStdout?: () => NodeJS.WritableStream;
}
