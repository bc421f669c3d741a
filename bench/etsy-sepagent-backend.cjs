// Benchmark backend for Etsy's statsd that does what a SepAgent user needs from it: at
// every flush, one {"sep":…,"metrics":[…]} JSON document per SEP instance over UDP, the
// same items statsd-sepagent sends (counter count/per_second, timer statistics, gauge
// value, set len). It lets the benchmark compare the two daemons doing the same work; the
// counting sink adds up the "count" items of both.
'use strict';
const dgram = require('node:dgram');
const fs = require('node:fs');

exports.init = function init(_startup, config, events) {
  const socket = dgram.createSocket('udp4');
  const { host, port, flushLog, sepRegexp, clusterRegexp } = config.benchSink;
  const sepRe = new RegExp(sepRegexp);
  const clusterRe = new RegExp(clusterRegexp);
  const cache = new Map();
  const classify = (key) => {
    let c = cache.get(key);
    if (c === undefined) {
      const cm = clusterRe.exec(key);
      c = null;
      if (cm !== null && sepRe.test(key)) {
        const sm = sepRe.exec(cm[0]);
        const end = cm.index + cm[0].length;
        if (sm !== null && end < key.length) c = { instanceId: sm[0], cluster: cm[0], statistics: key.slice(end + 1) };
      }
      cache.set(key, c);
    }
    return c;
  };
  events.on('flush', (ts, metrics) => {
    if (flushLog) fs.appendFileSync(flushLog, `${metrics.statsd_metrics.processing_time}\n`);
    const t0 = Date.now();
    const bySep = new Map();
    const add = (c, metricType, aggregationType, value) => {
      let list = bySep.get(c.instanceId);
      if (list === undefined) bySep.set(c.instanceId, (list = []));
      list.push({
        instanceId: c.instanceId,
        cluster: c.cluster,
        metricType,
        aggregationType,
        statistics: c.statistics,
        value,
        unixTimestamp: ts,
      });
    };
    for (const [k, v] of Object.entries(metrics.counters)) {
      const c = classify(k);
      if (c) {
        add(c, 'counter', 'count', v);
        add(c, 'counter', 'per_second', metrics.counter_rates[k]);
      }
    }
    for (const [k, d] of Object.entries(metrics.timer_data)) {
      const c = classify(k);
      if (!c) continue;
      add(c, 'timers', 'lower', d.lower ?? 0);
      add(c, 'timers', 'upper', d.upper ?? 0);
      add(c, 'timers', 'count', d.count);
      add(c, 'timers', 'count_ps', d.count_ps);
      add(c, 'timers', 'mean', d.mean ?? 0);
      add(c, 'timers', 'median', d.median ?? 0);
      add(c, 'timers', 'std', d.std ?? 0);
      add(c, 'timers', 'sum', d.sum ?? 0);
      add(c, 'timers', 'sum_squares', d.sum_squares ?? 0);
      for (const [name, value] of Object.entries(d)) if (/_\d+$/.test(name)) add(c, 'timers', name, value);
    }
    for (const [k, v] of Object.entries(metrics.gauges)) {
      const c = classify(k);
      if (c) add(c, 'gauge', 'value', v);
    }
    for (const [k, s] of Object.entries(metrics.sets)) {
      const c = classify(k);
      if (c) add(c, 'set', 'len', s.size());
    }
    for (const [sep, items] of bySep) {
      // Split like statsd-sepagent does, so no document exceeds a UDP datagram.
      for (let i = 0; i < items.length; i += 150)
        socket.send(JSON.stringify({ sep, metrics: items.slice(i, i + 150) }), port, host);
    }
    if (flushLog) fs.appendFileSync(flushLog, `${Date.now() - t0}\n`);
  });
  return true;
};
