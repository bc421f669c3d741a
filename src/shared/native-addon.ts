import { createRequire } from 'node:module';
import { errorMessage } from './errors.js';

let loaded: { module: object } | { reason: string } | undefined;

/**
 * Loads the native module `build/udp_batch.node` (native/udp_batch.c, built by `npm run
 * build`), once. Returns its exports, or why it is not available (another platform, no
 * compiler at build time). Its users type what they call: the batch receiver
 * (`src/receivers/udp/native-batch.ts`) and {@link trimMallocHeap}.
 */
export function loadNativeAddon(): { module: object } | { reason: string } {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'linux') {
    loaded = { reason: `the native module is Linux-only (platform ${process.platform})` };
    return loaded;
  }
  // src/shared/ and dist/shared/ are both two levels below the package root.
  const path = new URL('../../build/udp_batch.node', import.meta.url);
  try {
    loaded = { module: createRequire(import.meta.url)(path.pathname) as object };
  } catch (err) {
    loaded = { reason: `cannot load ${path.pathname}: ${errorMessage(err)}` };
  }
  return loaded;
}

/**
 * Gives the pages malloc holds free back to the system (glibc's `malloc_trim(0)`): after
 * start-up the allocator keeps what module loading and compilation freed, several MB per
 * process. Returns whether memory was released; false without the native module.
 */
export function trimMallocHeap(): boolean {
  const loaded = loadNativeAddon();
  if (!('module' in loaded)) return false;
  const { trimMemory } = loaded.module as { trimMemory?: () => boolean };
  return trimMemory?.() ?? false;
}
