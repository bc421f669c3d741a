// Preloaded (node -r) into each benchmarked daemon: every ELD_WINDOW_MS it appends the
// longest event-loop block of that window (and the window's p99) to ELD_OUT, one JSON
// line per window, with the p99 and maximum since the trial started. Uses the native
// event-loop-delay histogram: no JS timer per sample.
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');
const fs = require('node:fs');

const { isMainThread } = require('node:worker_threads');

// One thread's loop: the main thread's, or with ELD_THREAD=ingest the (one) ingest worker
// thread's (flush-thread: the thread that reads UDP while the main thread flushes). Ingest
// worker threads load this too.
const measured = process.env.ELD_THREAD === 'ingest' ? !isMainThread : isMainThread;
const out = measured ? process.env.ELD_OUT : undefined;
if (out) {
  const windowMs = Number(process.env.ELD_WINDOW_MS || 1000);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // A second histogram covers the whole trial: the runner deletes ELD_OUT when a measured
  // trial starts, which starts it over.
  const trial = monitorEventLoopDelay({ resolution: 1 });
  trial.enable();
  const t = setInterval(() => {
    if (!fs.existsSync(out)) trial.reset();
    const rec = {
      t: Date.now(),
      maxMs: h.max / 1e6,
      p99Ms: h.percentile(99) / 1e6,
      trialP99Ms: trial.percentile(99) / 1e6,
      trialMaxMs: trial.max / 1e6,
    };
    fs.appendFileSync(out, `${JSON.stringify(rec)}\n`);
    h.reset();
  }, windowMs);
  t.unref();
}

// ELD_WORKER_OUT: the same per window for each ingest worker thread, tagged with its id.
const workerOut = isMainThread ? undefined : process.env.ELD_WORKER_OUT;
if (workerOut) {
  const { threadId } = require('node:worker_threads');
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t = setInterval(
    () => {
      const rec = { t: Date.now(), thread: threadId, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
      fs.appendFileSync(workerOut, `${JSON.stringify(rec)}\n`);
      h.reset();
    },
    Number(process.env.ELD_WINDOW_MS || 1000),
  );
  t.unref();
}

// ELD_GC_OUT: per window and thread, the garbage-collection pauses of that thread's heap
// (count and milliseconds by kind: minor, major, incremental, weak callbacks).
const gcOut = process.env.ELD_GC_OUT;
if (gcOut) {
  const { PerformanceObserver, constants } = require('node:perf_hooks');
  const { threadId } = require('node:worker_threads');
  const KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  let acc = {};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const k = KINDS[e.detail?.kind] ?? 'other';
      const a = (acc[k] ??= { n: 0, ms: 0, maxMs: 0 });
      a.n++;
      a.ms += e.duration;
      a.maxMs = Math.max(a.maxMs, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const t = setInterval(
    () => {
      fs.appendFileSync(
        gcOut,
        `${JSON.stringify({ t: Date.now(), thread: isMainThread ? 'main' : threadId, gc: acc })}\n`,
      );
      acc = {};
    },
    Number(process.env.ELD_WINDOW_MS || 1000),
  );
  t.unref();
}
