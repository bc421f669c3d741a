import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/**
 * The message types `names` of a `.proto` file, loaded by protobufjs on first use (a
 * daemon that speaks no protobuf never loads it). Field names stay as the schema writes them.
 */
export function protoTypes<K extends string>(file: URL, names: Record<K, string>): () => Record<K, Protobuf.Type> {
  let types: Record<K, Protobuf.Type> | undefined;
  return () => {
    if (types === undefined) {
      const protobuf = require('protobufjs') as typeof Protobuf;
      const root = protobuf.loadSync(fileURLToPath(file));
      types = Object.fromEntries(Object.entries<string>(names).map(([k, n]) => [k, root.lookupType(n)])) as Record<
        K,
        Protobuf.Type
      >;
    }
    return types;
  };
}
