import type { ParseResult } from './sample.js';

/**
 * LineParser turns one StatsD line into a metric, an event or a rejection reason.
 *
 * Implementations MUST be pure and total: any input returns a ParseResult, nothing is
 * thrown, logged or counted. The line is `bytes[start, end)` without its newline.
 */
export type LineParser = (bytes: Uint8Array, start: number, end: number) => ParseResult;
