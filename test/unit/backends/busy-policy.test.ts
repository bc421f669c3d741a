import { expect } from 'chai';
import { noopBackendMetrics, type BackendDeps } from '../../../src/backends/backend.js';
import { BACKEND_FACTORIES } from '../../../src/backends/registry.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { ManualClock } from '../../support/manual-clock.js';
import { testSharedSettings } from '../../support/shared-settings.js';

describe('busy policies of the registered backends', () => {
  it('backends that keep cumulative state or send deltas merge waiting intervals; SepAgent takes the latest', async () => {
    const policy: Record<string, string> = {};
    for (const [type, f] of BACKEND_FACTORIES) {
      const deps: BackendDeps = {
        name: type,
        logger: silentLogger,
        clock: new ManualClock(),
        metrics: noopBackendMetrics,
      };
      const b = f.create(f.defaultConfig(), testSharedSettings(0), deps);
      policy[type] = b.busyPolicy ?? 'latest';
      await b.shutdown();
    }
    // A skipped interval would lose counts for good in a cumulative counter (prometheus) or
    // at the aggregation tier (forwarder); SepAgent wants per-interval rates, the newest best.
    expect(policy).to.deep.include({ prometheus: 'coalesce', forwarder: 'coalesce', sepagent: 'latest' });
  });
});
