import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { StatsdEvent } from '../../parser/sample.js';
import { CHUNK_SERIES } from '../../shared/cooperative.js';
import { goShortest } from '../shared/go-format.js';

/**
 * Re-emits a snapshot as StatsD lines, as gostatsd's statsdaemon backend does: a
 * counter's interval sum (`n:<sum>|c`, the daemon's own `statsd.*` left out), one
 * `n:<v>|ms` per timer value, `n:<v>|g`, one `n:<member>|s` per set member, each with
 * `|#<tags key>` unless `disableTags`. Lines are packed into packets of at most
 * `maxPacket` bytes (a longer single line gets a packet of its own). Yields every
 * {@link CHUNK_SERIES} series.
 */
export function* statsdPackets(
  s: FlushSnapshot,
  disableTags: boolean,
  maxPacket: number,
): Generator<void, { packets: string[]; lines: number }> {
  const packets: string[] = [];
  let cur: string[] = [];
  let curBytes = 0;
  let lines = 0;
  let k = 0;
  const add = (line: string): void => {
    lines++;
    const bytes = Buffer.byteLength(line);
    if (cur.length > 0 && curBytes + 1 + bytes > maxPacket) {
      packets.push(cur.join('\n'));
      cur = [];
      curBytes = 0;
    }
    curBytes += (cur.length > 0 ? 1 : 0) + bytes;
    cur.push(line);
  };
  const tags = (tagsKey: string): string => (disableTags || tagsKey === '' ? '' : '|#' + tagsKey);
  for (const c of s.counters) {
    if (!c.name.startsWith('statsd.')) add(`${c.name}:${c.value}|c${tags(c.tagsKey)}`);
    if (++k % CHUNK_SERIES === 0) yield;
  }
  for (const t of s.timers) {
    const suffix = `|ms${tags(t.tagsKey)}`;
    for (const v of t.values) add(`${t.name}:${goShortest(v)}${suffix}`);
    if (++k % CHUNK_SERIES === 0) yield;
  }
  for (const g of s.gauges) {
    add(`${g.name}:${goShortest(g.value)}|g${tags(g.tagsKey)}`);
    if (++k % CHUNK_SERIES === 0) yield;
  }
  for (const x of s.sets) {
    for (const m of x.members) add(`${x.name}:${m}|s${tags(x.tagsKey)}`);
    if (++k % CHUNK_SERIES === 0) yield;
  }
  if (cur.length > 0) packets.push(cur.join('\n'));
  return { packets, lines };
}

const PRIORITY_FIELD = { normal: '', low: '|p:low' } as const;

/** An event as a DogStatsD `_e{…}` line (newlines in the text written as `\n`). */
export function eventLine(e: StatsdEvent): string {
  const text = e.text.replaceAll('\n', '\\n');
  let out = `_e{${Buffer.byteLength(e.title)},${Buffer.byteLength(text)}}:${e.title}|${text}`;
  if (e.dateHappened !== 0) out += `|d:${e.dateHappened}`;
  if (e.hostname !== '') out += `|h:${e.hostname}`;
  if (e.aggregationKey !== '') out += `|k:${e.aggregationKey}`;
  out += PRIORITY_FIELD[e.priority];
  if (e.sourceTypeName !== '') out += `|s:${e.sourceTypeName}`;
  if (e.alertType !== 'info') out += `|t:${e.alertType}`;
  if (e.tags.length > 0) out += `|#${e.tags.join(',')}`;
  return out;
}
