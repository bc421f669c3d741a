import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IngestStats } from '../ingest/ingest-stats.js';
import type { MetricStatsReport } from '../ingest/metric-stats.js';
import type { RejectedLine } from '../ingest/observe.js';
import type { BackendFacts, ConfigFacts } from './self-metrics.js';

/** Everything the status page shows, gathered by the daemon at each request. */
export interface StatusModel {
  readonly version: string;
  readonly ready: boolean;
  readonly nowMs: number;
  readonly startedAtMs: number;
  readonly config: ConfigFacts & {
    /** Where the document came from: a file path or `namespace/name` of a ConfigMap. */
    readonly origin: string;
    /** The settings in force, secrets redacted ({@link redactSecrets}). */
    readonly settings: unknown;
  };
  readonly receivers: ReadonlyArray<{ readonly type: string; readonly address: string }>;
  readonly stats: IngestStats;
  readonly kernelDrops: number | undefined;
  readonly series: { readonly live: number; readonly max: number; readonly dropped: number };
  readonly backends: ReadonlyArray<{ readonly name: string; readonly facts: BackendFacts | undefined }>;
  readonly top: MetricStatsReport;
  readonly rejects: readonly RejectedLine[];
}

const REDACTED = '[REDACTED]';
/** Field names whose values are credentials (API keys, tokens, passwords, header values). */
const SECRET_FIELD = /key|secret|token|password|credential|authorization/i;
/** Fields that name a file holding a secret, not the secret: shown. */
const FILE_FIELD = /file$/i;

/**
 * A copy of a configuration object with every credential replaced: values of fields named
 * like a key, token, password or secret, and every value of a `headers` map.
 */
export function redactSecrets(v: unknown, inHeaders = false): unknown {
  if (Array.isArray(v)) return v.map((x) => redactSecrets(x, inHeaders));
  if (v instanceof Map) return redactSecrets(Object.fromEntries(v), inHeaders);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const secret = inHeaders || (SECRET_FIELD.test(k) && !FILE_FIELD.test(k));
      out[k] =
        secret && (typeof x === 'string' || typeof x === 'number')
          ? x === ''
            ? ''
            : REDACTED
          : redactSecrets(x, /^headers$/i.test(k));
    }
    return out;
  }
  return v;
}

/** HTML-escapes text for element content and attribute values. */
function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function table(head: readonly string[], rows: ReadonlyArray<readonly unknown[]>, id: string, empty: string): string {
  if (rows.length === 0) return `<p id="${id}" class="empty">${esc(empty)}</p>`;
  return (
    `<table id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The previous request's totals, for rates. */
interface Totals {
  readonly atMs: number;
  readonly datagrams: Readonly<Record<string, number>>;
  readonly lines: number;
  readonly bad: number;
}

/**
 * The status page served at `/` of the admin server: health, version, the configuration in
 * force (secrets redacted) and where it came from, receivers with rates and drops, backends
 * with their last flush, the top metrics and the last rejected lines. Server-rendered HTML
 * with a small inline script that fetches `/?fragment=main` every 2 seconds and swaps the
 * content in; no framework, no external assets.
 */
export class StatusPage {
  #previous: Totals | undefined;

  constructor(private readonly model: () => StatusModel) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    const fragment = new URL(req.url ?? '/', 'http://localhost').searchParams.get('fragment') === 'main';
    const m = this.model();
    const main = this.#main(m);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(fragment ? main : page(m, main));
  }

  #main(m: StatusModel): string {
    const s = m.stats;
    const bad = Object.values(s.badLines).reduce((a, b) => a + b, 0);
    // Rates since the previous request (the page asks every 2 s).
    const prev = this.#previous;
    this.#previous = { atMs: m.nowMs, datagrams: { ...s.datagrams }, lines: s.lines, bad };
    const dt = prev === undefined ? 0 : (m.nowMs - prev.atMs) / 1000;
    const perSecond = (now: number, before: number | undefined): string =>
      dt >= 0.5 && before !== undefined ? fmt((now - before) / dt, 1) : '–';
    const receivers = m.receivers.map((r) => {
      const t = r.type === 'tcp' || r.type === 'unix' ? r.type : r.type.startsWith('http') ? undefined : 'udp';
      return [
        r.type,
        r.address,
        t === undefined ? '–' : fmt(s.datagrams[t]),
        t === undefined ? '–' : perSecond(s.datagrams[t], prev?.datagrams[t]),
        t === undefined ? '–' : fmt(s.truncatedDatagrams[t]),
      ];
    });
    const backends = m.backends.map(({ name, facts: f }) => [
      name,
      f?.last === undefined ? 'no flush yet' : f.last.result,
      f?.last === undefined ? '–' : `${fmt(f.last.seconds, 3)} s`,
      Object.entries(f?.results ?? {})
        .map(([r, n]) => `${r} ${n}`)
        .join(', ') || '–',
      f === undefined ? 0 : fmt(f.dropped),
      f === undefined ? 0 : fmt(f.leftOutAtFlush),
      f === undefined || f.sendErrors === 0 ? '–' : `${fmt(f.sendErrors)} (last ${f.lastErrorCode ?? '?'})`,
    ]);
    const top = m.top;
    return [
      `<section id="health"><h2>Health</h2><dl>`,
      `<dt>state</dt><dd id="state" class="${m.ready ? 'ok' : 'bad'}">${m.ready ? 'ready' : 'not ready'}</dd>`,
      `<dt>version</dt><dd>${esc(m.version)}</dd>`,
      `<dt>up</dt><dd>${fmt((m.nowMs - m.startedAtMs) / 1000)} s</dd>`,
      `<dt>live series</dt><dd id="series">${fmt(m.series.live)} of ${fmt(m.series.max)} (max-series); ${fmt(m.series.dropped)} samples refused at the cap</dd>`,
      `<dt>lines</dt><dd id="lines">${fmt(s.lines)} (${perSecond(s.lines, prev?.lines)}/s), ${fmt(bad)} rejected (${perSecond(bad, prev?.bad)}/s)</dd>`,
      `<dt>kernel drops</dt><dd>${m.kernelDrops === undefined ? '–' : fmt(m.kernelDrops)}</dd>`,
      `</dl></section>`,
      `<section><h2>Receivers</h2>${table(['receiver', 'address', 'datagrams', 'per second', 'truncated'], receivers, 'receivers', 'no receivers')}</section>`,
      `<section><h2>Backends</h2>${table(['backend', 'last flush', 'took', 'intervals', 'items dropped', 'series left out', 'send errors'], backends, 'backends', 'no backends')}</section>`,
      `<section><h2>Top metrics <small>(last ${fmt(top.windowSeconds)} s)</small></h2>`,
      table(
        ['name', 'samples'],
        top.bySamples.map((c) => [c.key, `≈ ${fmt(c.count)}`]),
        'top-samples',
        'no samples yet',
      ),
      table(
        ['name', 'new series', 'tag keys by distinct values'],
        top.bySeries.map((c) => [
          c.key,
          fmt(c.count),
          c.tagKeys.map((k) => `${k.key} ${fmt(k.values)}`).join(', ') || '–',
        ]),
        'top-series',
        'no series yet',
      ),
      top.byCapped.length > 0
        ? table(
            ['name', 'samples refused at max-series'],
            top.byCapped.map((c) => [c.key, fmt(c.count)]),
            'top-capped',
            '',
          )
        : '',
      `</section>`,
      `<section><h2>Last rejected lines</h2>${table(
        ['when', 'reason', 'at byte', 'source', 'line'],
        m.rejects.map((r) => [new Date(r.atMs).toISOString(), r.reason, r.offset, r.source, r.line]),
        'rejects',
        'none',
      )}</section>`,
      `<section><h2>Configuration</h2><p id="config-source">from ${esc(m.config.source)} ${esc(m.config.origin)}, applied ${esc(new Date(m.config.appliedAt * 1000).toISOString())}, sha256 ${esc(m.config.hash)}; ${m.config.reloads} reload(s)${m.config.lastReloadOk ? '' : ', <strong class="bad">the last reload was rejected</strong>'}</p>`,
      `<pre id="config">${esc(JSON.stringify(m.config.settings, null, 2))}</pre></section>`,
    ].join('\n');
  }
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f3f3f3}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.empty{color:#777}pre{background:#f6f8fa;padding:.8em;overflow:auto;max-height:30em}
header{display:flex;gap:1em;align-items:baseline}#updated{color:#777}`;

const SCRIPT = `(() => {
  let n = 0;
  const main = document.querySelector('main');
  window.setInterval(async () => {
    try {
      const r = await fetch('/?fragment=main', { cache: 'no-store' });
      if (!r.ok) return;
      main.innerHTML = await r.text();
      document.body.dataset.refreshes = String(++n);
      document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      document.getElementById('updated').textContent = 'the daemon does not answer';
    }
  }, 2000);
})();`;

function page(m: StatusModel, main: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>statsd-sepagent ${esc(m.version)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body data-refreshes="0"><header><h1>statsd-sepagent</h1><span id="updated"></span></header>
<main>${main}</main>
<footer><p>JSON: <a href="/debug/metrics">/debug/metrics</a> · self-metrics: <a href="/metrics">/metrics</a></p></footer>
<script>${SCRIPT}</script></body></html>
`;
}
