// Etsy's statsd 0.9 calls util.log, which Node 23 removed. Preloaded (node -r) so the peer
// runs on the same Node as statsd-sepagent; prints what util.log printed.
'use strict';
const util = require('node:util');
if (typeof util.log !== 'function') {
  util.log = (...args) => process.stdout.write(`${new Date().toISOString()} - ${util.format(...args)}\n`);
}
