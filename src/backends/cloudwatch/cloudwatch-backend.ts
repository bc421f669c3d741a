import { createRequire } from 'node:module';
import type * as CloudWatchSdk from '@aws-sdk/client-cloudwatch';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { BackendError, errorMessage } from '../../shared/errors.js';
import { RateLimitedLog } from '../../shared/logger.js';
import type { Backend, BackendDeps } from '../backend.js';
import { inBatches, retryableStatus } from '../shared/http-delivery.js';
import type { CloudwatchConfig } from './config.js';
import { cloudwatchData } from './format.js';

const require = createRequire(import.meta.url);

/** gostatsd's batch size for PutMetricData. */
export const BATCH = 20;

/**
 * CloudwatchBackend sends each interval with `PutMetricData` through the AWS SDK v3,
 * which signs the requests (SigV4) and finds the credentials (environment, EKS IRSA's
 * web-identity token file, instance or task role): batches of 20, named and dimensioned
 * as gostatsd's cloudwatch backend. The credentials are resolved at start, so a daemon
 * (or a reload) without any fails there, naming the backend. A 4xx from CloudWatch is
 * counted as `rejected` and its message logged once a minute; the SDK retries the rest
 * (`max_retries`). Intervals that end while one is in delivery are merged by the flusher
 * (busy policy `coalesce`). Events are ignored, as in gostatsd.
 */
export class CloudwatchBackend implements Backend {
  readonly name: string;
  readonly busyPolicy = 'coalesce' as const;
  readonly #config: CloudwatchConfig;
  readonly #deps: BackendDeps;
  #client: CloudWatchSdk.CloudWatchClient | undefined;
  #sdk: typeof CloudWatchSdk | undefined;
  readonly #failures: RateLimitedLog;

  constructor(config: CloudwatchConfig, deps: BackendDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#deps = deps;
    this.#failures = new RateLimitedLog(60_000, () => deps.clock.now());
  }

  async start(): Promise<void> {
    const sdk = (this.#sdk = require('@aws-sdk/client-cloudwatch') as typeof CloudWatchSdk);
    const c = this.#config;
    const client = new sdk.CloudWatchClient({
      region: c.region,
      maxAttempts: c.maxRetries + 1,
      ...(c.endpoint === '' ? {} : { endpoint: c.endpoint }),
      requestHandler: { requestTimeout: c.clientTimeoutMs, connectionTimeout: c.clientTimeoutMs },
    });
    try {
      await client.config.credentials();
    } catch (err) {
      client.destroy();
      throw new BackendError(
        this.name,
        `cloudwatch: no AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, or an instance role): ${errorMessage(err)}`,
        { cause: err },
      );
    }
    this.#client = client;
  }

  /** The SDK's attempts (`max_retries` + 1), each bounded by `client_timeout`. */
  get deliveryTimeoutMs(): number {
    return (this.#config.maxRetries + 1) * this.#config.clientTimeoutMs;
  }

  async flush(s: FlushSnapshot, deadline: AbortSignal): Promise<void> {
    const client = this.#client;
    const sdk = this.#sdk;
    if (client === undefined || sdk === undefined) return;
    const m = this.#deps.metrics;
    let failed = 0;
    for (const batch of inBatches(cloudwatchData(s), BATCH)) {
      const t0 = this.#deps.clock.monotonicMs();
      try {
        await client.send(new sdk.PutMetricDataCommand({ Namespace: this.#config.namespace, MetricData: batch }), {
          abortSignal: deadline,
        });
        m.sent(1, batch.length);
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        const rejected = status !== undefined && status >= 400 && !retryableStatus(status);
        m.sendError(status === undefined ? 'ENETWORK' : `HTTP_${status}`);
        m.dropped(rejected ? 'rejected' : 'retry_expired', batch.length);
        failed++;
        this.#failures.maybe(`${status ?? 'network'}`, (suppressed) =>
          this.#deps.logger.warn({ status, err: errorMessage(err), suppressed }, 'cloudwatch PutMetricData failed'),
        );
      } finally {
        m.requestDuration?.((this.#deps.clock.monotonicMs() - t0) / 1000);
      }
    }
    if (failed > 0) throw new BackendError(this.name, `cloudwatch: ${failed} PutMetricData requests not delivered`);
  }

  async sendEvent(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#client?.destroy();
  }
}
