// Preloaded (node -r) into each benchmarked daemon: every ELD_WINDOW_MS it appends the
// longest event-loop block of that window (and the window's p99) to ELD_OUT, one JSON
// line per window. Uses the native event-loop-delay histogram: no JS timer per sample.
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');
const fs = require('node:fs');

const out = process.env.ELD_OUT;
if (out) {
  const windowMs = Number(process.env.ELD_WINDOW_MS || 1000);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t = setInterval(() => {
    fs.appendFileSync(out, `${JSON.stringify({ t: Date.now(), maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 })}\n`);
    h.reset();
  }, windowMs);
  t.unref();
}
