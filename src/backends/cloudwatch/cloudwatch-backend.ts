import { createRequire } from 'node:module';
import type * as CloudWatchSdk from '@aws-sdk/client-cloudwatch';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { BackendError, errorMessage } from '../../shared/errors.js';
import { RateLimitedLog } from '../../shared/logger.js';
import type { Backend, BackendDeps, Explanation } from '../backend.js';
import { explained } from '../shared/explained.js';
import {
  countDelivery,
  deliver,
  GOSTATSD_BACKOFF,
  inBatches,
  maxBackoffTotal,
  type HttpAnswer,
} from '../shared/http-delivery.js';
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
 * (or a reload) without any fails there, naming the backend. Each batch is retried by the
 * shared delivery loop (`deliver`: gostatsd's back-off, `max_retries` retries, each attempt
 * bounded by `client_timeout`, a last attempt at once at shutdown); the SDK itself makes one
 * attempt. A 4xx from CloudWatch is counted as `rejected` and its message logged once a
 * minute. Intervals that end while one is in delivery are merged by the flusher (busy
 * policy `coalesce`). Events are ignored, as in gostatsd.
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
      maxAttempts: 1, // retries are the shared delivery loop's
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

  /** Every attempt (`max_retries` + 1, each bounded by `client_timeout`) and the waits between them. */
  get deliveryTimeoutMs(): number {
    const c = this.#config;
    return (c.maxRetries + 1) * c.clientTimeoutMs + maxBackoffTotal(GOSTATSD_BACKOFF, c.maxRetries);
  }

  /** The metric data it would put. */
  explain(s: FlushSnapshot): Explanation {
    return explained(
      cloudwatchData(s).map((d) => JSON.stringify(d)),
      'no finite value to put',
    );
  }

  async flush(s: FlushSnapshot, signal: AbortSignal, hurry?: AbortSignal): Promise<void> {
    const client = this.#client;
    const sdk = this.#sdk;
    if (client === undefined || sdk === undefined) return;
    const { metrics: m, clock, logger } = this.#deps;
    let failed = 0;
    for (const batch of inBatches(cloudwatchData(s), BATCH)) {
      const command = new sdk.PutMetricDataCommand({ Namespace: this.#config.namespace, MetricData: batch });
      const attempt = async (abortSignal: AbortSignal): Promise<HttpAnswer> => {
        try {
          await client.send(command, { abortSignal });
          return { status: 200, body: '' };
        } catch (err) {
          // An answer from CloudWatch has a status; anything else (network, timeout) is thrown on.
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status === undefined) throw err;
          return { status, body: errorMessage(err) };
        }
      };
      const result = await deliver(attempt, {
        backoff: GOSTATSD_BACKOFF,
        maxElapsedMs: this.deliveryTimeoutMs,
        maxAttempts: this.#config.maxRetries + 1,
        clock,
        random: Math.random,
        signal,
        hurry,
        onAttempt: (seconds) => m.requestDuration?.(seconds),
        onFailure: (reason, status) => {
          m.sendError(status === undefined ? 'ENETWORK' : `HTTP_${status}`);
          this.#failures.maybe(`${status ?? 'network'}`, (suppressed) =>
            logger.warn({ status, err: reason, suppressed }, 'cloudwatch PutMetricData failed'),
          );
        },
      });
      countDelivery(m, result, batch.length);
      if (result !== 'delivered') failed++;
    }
    if (failed > 0) throw new BackendError(this.name, `cloudwatch: ${failed} PutMetricData requests not delivered`);
  }

  async sendEvent(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#client?.destroy();
  }
}
