/**
 * The injector under admission load: the built CLI (`statsd-sepagent injector`) against the
 * fake API server, answering AdmissionReviews over real HTTPS. Prints the latency of a
 * review (sequential, then with concurrent callers as an API server makes them) and the
 * injector's resident memory.
 *
 *   npm run bench:injector -- --reviews 5000 --concurrency 16
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { certificates } from '../test/support/certs.js';
import { CliProcess } from '../test/support/cli-process.js';
import { FakeKubeApi } from '../test/support/fake-kube-api.js';
import { referenceReview } from '../test/support/admission.js';
import { waitFor } from '../test/support/wait-for.js';

const { values } = parseArgs({
  options: { reviews: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '16' } },
});
const reviews = Number(values.reviews);
const concurrency = Number(values.concurrency);

const dir = mkdtempSync(join(tmpdir(), 'bench-injector-'));
const tls = certificates(dir);
writeFileSync(join(dir, 'settings.yaml'), 'image: ghcr.io/statsd-sepagent/statsd-sepagent:0.1.0\n');
const api = await FakeKubeApi.start();
api.upsert(
  'statsd-system',
  'class-default',
  { 'config.toml': 'backends = "stdout"\n' },
  { 'statsd-sepagent.io/class': 'default' },
);
const cli = new CliProcess([
  'injector',
  `--settings=${join(dir, 'settings.yaml')}`,
  `--tls-cert-file=${tls.cert}`,
  `--tls-key-file=${tls.key}`,
  '--listen=127.0.0.1:0',
  '--web-addr=127.0.0.1:0',
  '--namespace=statsd-system',
  `--kubeconfig=${api.writeKubeconfig()}`,
]);
await cli.waitForLog('statsd-sepagent injector running');
const port = Number(
  String(cli.logs().find((l) => l['msg'] === 'injector webhook (https) listening')!['address'])
    .split(':')
    .pop(),
);
const agent = new Agent({ connect: { ca: readFileSync(tls.ca), servername: '' }, connections: concurrency });
const body = JSON.stringify(referenceReview());
await waitFor(async () => (await post()) === 200, 5000, 'first review answered');

async function post(): Promise<number> {
  const r = await request(`https://127.0.0.1:${port}/mutate`, { method: 'POST', body, dispatcher: agent });
  await r.body.text();
  return r.statusCode;
}

function rssMb(): number {
  const status = readFileSync(`/proc/${cli.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

async function run(callers: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next++ < reviews) {
        const t = performance.now();
        if ((await post()) !== 200) throw new Error('a review was not answered with 200');
        times.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const q = (p: number): number => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { perSecond: reviews / elapsed, p50: q(0.5), p99: q(0.99) };
}

const idle = rssMb();
for (const callers of [1, concurrency]) {
  const r = await run(callers);
  console.log(
    `${reviews} reviews, ${callers} caller(s): ${r.perSecond.toFixed(0)} reviews/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`,
  );
}
console.log(`injector RSS: ${idle.toFixed(0)} MB idle, ${rssMb().toFixed(0)} MB after the runs`);
await agent.close();
await cli.stop();
await api.stop();
