// A backend for Etsy's statsd that appends every flush to a file as one JSON line: its
// counters, timers (every value), gauges and sets, statsd's own "statsd.*" left out.
'use strict';
const fs = require('node:fs');

exports.init = function init(_startup, config, events) {
  events.on('flush', (_ts, m) => {
    const own = (o) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('statsd.')));
    const sets = Object.fromEntries(Object.entries(own(m.sets)).map(([k, v]) => [k, v.values()]));
    const out = { counters: own(m.counters), timers: own(m.timers), gauges: own(m.gauges), sets };
    fs.appendFileSync(config.recordFile, JSON.stringify(out) + '\n');
  });
  return true;
};
