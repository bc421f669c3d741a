// Benchmark backend for Etsy's statsd: at every flush, adds up the counter values and the
// timer sample counts (statsd's own "statsd.*" counters excluded) and sends
// "count <N>" to the counting sink, so the peer is measured end to end exactly like
// statsd-sepagent (whose SepAgent documents the sink sums the same way).
'use strict';
const dgram = require('node:dgram');
const fs = require('node:fs');

exports.init = function init(_startup, config, events) {
  const socket = dgram.createSocket('udp4');
  const { host, port, flushLog } = config.benchSink;
  events.on('flush', (_ts, metrics) => {
    if (flushLog) fs.appendFileSync(flushLog, `${metrics.statsd_metrics.processing_time}\n`);
    let n = 0;
    for (const [k, v] of Object.entries(metrics.counters)) if (!k.startsWith('statsd.')) n += v;
    for (const [k, v] of Object.entries(metrics.timer_counters)) if (!k.startsWith('statsd.')) n += v;
    socket.send(`count ${n}`, port, host);
  });
  return true;
};
