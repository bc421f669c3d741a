import { createRequire } from 'node:module';

/**
 * A module loaded the first time it is needed, not when its importer is: a backend's or a
 * receiver's implementation (its protocol, client libraries and buffers) is loaded by the
 * first instance a configuration creates, so a daemon that does not use it never pays for
 * it (docs/performance.md, memory per pod). `from` is the importer's `import.meta.url`,
 * `path` the module as a static import would name it. The module must not use top-level
 * await (it is loaded with `require`).
 */
export function onFirstUse<M>(from: string, path: string): () => M {
  const require = createRequire(from);
  let loaded: M | undefined;
  return () => (loaded ??= require(path) as M);
}
