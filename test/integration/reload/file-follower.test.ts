import { expect } from 'chai';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFollower, type FileReading } from '../../../src/reload/file-follower.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { waitFor } from '../../support/wait-for.js';

describe('FileFollower: one way of following files, for the config file and the files it refers to', function () {
  this.timeout(10_000);
  let follower: FileFollower | undefined;
  afterEach(() => follower?.stop());

  const start = (): Array<{ readings: FileReading[]; forced: boolean }> => {
    const seen: Array<{ readings: FileReading[]; forced: boolean }> = [];
    follower = new FileFollower({
      logger: silentLogger,
      pollMs: 60_000,
      onChange: (readings, forced) => seen.push({ readings: [...readings], forced }),
    });
    return seen;
  };
  const texts = (seen: ReturnType<typeof start>): string[] =>
    seen.flatMap((s) => s.readings.map((r) => ('text' in r ? r.text : `error ${r.path}`)));

  it('reports each changed file of several, a kubelet ..data swap, and a vanished file once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'follower-'));
    writeFileSync(join(dir, 'a.toml'), 'a = 1\n');
    // a ConfigMap volume: mapping.yaml → ..data/mapping.yaml, ..data → a versioned directory
    mkdirSync(join(dir, 'v1'));
    writeFileSync(join(dir, 'v1', 'mapping.yaml'), 'mappings: []\n');
    symlinkSync('v1', join(dir, '..data'));
    symlinkSync('..data/mapping.yaml', join(dir, 'mapping.yaml'));
    const seen = start();
    await follower!.follow([join(dir, 'a.toml'), join(dir, 'mapping.yaml')]);

    mkdirSync(join(dir, 'v2'));
    writeFileSync(join(dir, 'v2', 'mapping.yaml'), 'mappings: [{match: a, name: b}]\n');
    symlinkSync('v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await waitFor(() => texts(seen).includes('mappings: [{match: a, name: b}]\n'));

    rmSync(join(dir, 'a.toml'));
    await follower!.check(false);
    await follower!.check(false); // still missing: not reported again
    expect(texts(seen).filter((t) => t.startsWith('error'))).to.deep.equal([`error ${join(dir, 'a.toml')}`]);
    writeFileSync(join(dir, 'a.toml'), 'a = 1\n');
    await waitFor(() => texts(seen).includes('a = 1\n'));
    // A forced re-read reports every file; after stop nothing is reported.
    await follower!.check(true);
    expect(seen.at(-1)!.forced).to.equal(true);
    expect(seen.at(-1)!.readings).to.have.length(2);
    const before = seen.length;
    follower!.stop();
    writeFileSync(join(dir, 'a.toml'), 'a = 2\n');
    await follower!.check(true);
    expect(seen.length).to.equal(before);
  });

  it('follows exactly the files it is given: a file dropped from the set is not reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'follower-'));
    writeFileSync(join(dir, 'x'), '1');
    writeFileSync(join(dir, 'y'), '1');
    const seen = start();
    await follower!.follow([join(dir, 'x'), join(dir, 'y')]);
    await follower!.follow([join(dir, 'y')]);
    writeFileSync(join(dir, 'x'), '2');
    writeFileSync(join(dir, 'y'), '2');
    await waitFor(() => seen.length >= 1);
    await follower!.check(false);
    expect(seen.flatMap((s) => s.readings.map((r) => r.path))).to.deep.equal([join(dir, 'y')]);
  });
});
