import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

type Step = { name?: string; run?: string; env?: Record<string, string>; uses?: string };
const WORKFLOW = '.github/workflows/release.yml';

describe('the release workflow (GitHub Actions): the commands the tests run, but the push', () => {
  const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as {
    on: { push: { tags: string[] } };
    jobs: Record<string, { steps: Step[] }>;
  };
  const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
  const run = (re: RegExp): Step | undefined => steps.find((s) => re.test(s.run ?? ''));

  it('runs on a version tag, tests first with .ci/run', () => {
    expect(workflow.on.push.tags).to.deep.equal(['v*.*.*']);
    const order = steps.map((s) => s.run ?? '');
    const tests = order.findIndex((r) => r.includes('.ci/run'));
    const image = order.findIndex((r) => r.includes('scripts/image.sh'));
    expect(tests).to.be.greaterThan(-1);
    expect(image).to.be.greaterThan(tests);
  });

  it('builds the image with scripts/image.sh (what make image runs) for linux/amd64 and linux/arm64 and pushes it to GHCR', () => {
    const image = run(/scripts\/image\.sh/)!;
    expect(image.env!['PLATFORMS']).to.equal('linux/amd64,linux/arm64');
    expect(image.env!['PUSH']).to.match(/^\$\{\{ steps\.version\.outputs\.image \}\}:/);
    expect(run(/echo "image=ghcr\.io\//)).to.not.equal(undefined);
    expect(readFileSync('Makefile', 'utf8')).to.match(/^image: setup\n\t\.\/scripts\/image\.sh$/m);
    // The chart's default image is where the workflow pushes.
    const values = parse(readFileSync('charts/statsd-sepagent/values.yaml', 'utf8')) as {
      sidecar: { image: { repository: string } };
    };
    const home = (parse(readFileSync('charts/statsd-sepagent/Chart.yaml', 'utf8')) as { home: string }).home;
    const repo = /github\.com\/(.+)$/.exec(home)![1]!.toLowerCase();
    expect(values.sidecar.image.repository).to.equal(`ghcr.io/${repo}`);
  });

  it('packages the chart as the workflow does (helm package), here into a temporary folder', () => {
    const step = run(/helm package charts\/statsd-sepagent/)!;
    expect(step.run).to.contain('--app-version');
    const dir = mkdtempSync(join(tmpdir(), 'chart-package-'));
    execFileSync(
      '.tools/bin/helm',
      ['package', 'charts/statsd-sepagent', '--version', '9.8.7', '--app-version', '9.8.7', '-d', dir],
      {
        stdio: 'ignore',
      },
    );
    expect(readdirSync(dir)).to.deep.equal(['statsd-sepagent-9.8.7.tgz']);
    const listing = execFileSync('tar', ['tzf', join(dir, 'statsd-sepagent-9.8.7.tgz')], { encoding: 'utf8' });
    expect(listing).to.contain('statsd-sepagent/values.schema.json');
    expect(listing).to.contain('statsd-sepagent/templates/tests/test-readyz.yaml');
  });
});
