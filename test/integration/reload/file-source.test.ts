import { expect } from 'chai';
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileConfigSource } from '../../../src/reload/file-source.js';
import type { ConfigSink } from '../../../src/reload/config-source.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { waitFor } from '../../support/wait-for.js';

/** A sink that records what the source hands on: offered documents, and forced reloads. */
function recordingSink(seen: Array<{ text: string; forced: boolean }>): ConfigSink {
  return {
    logger: silentLogger,
    offer: (d) => seen.push({ text: d.text, forced: false }),
    reload: (d, force) => {
      seen.push({ text: d.text, forced: force });
      return Promise.resolve({ result: 'unchanged', hash: '' });
    },
    rejected: () => undefined,
    error: () => undefined,
  };
}

describe('FileConfigSource (real file system)', function () {
  this.timeout(10_000);
  let source: FileConfigSource | undefined;
  afterEach(() => source?.shutdown());

  function start(path: string, pollMs = 60_000): Array<{ text: string; forced: boolean }> {
    const seen: Array<{ text: string; forced: boolean }> = [];
    source = new FileConfigSource({ path, pollMs });
    return seen;
  }

  it('reports in-place writes and rename-over, once per content change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-source-'));
    const path = join(dir, 'config.yaml');
    writeFileSync(path, 'backends: "null"\n');
    const seen = start(path);
    const first = await source!.initial();
    expect(first).to.deep.equal({ text: 'backends: "null"\n', format: 'yaml', origin: `file ${path}`, source: 'file' });
    source!.connect(recordingSink(seen));
    await source!.start();

    writeFileSync(path, 'backends: "stdout"\n');
    await waitFor(() => seen.length === 1);
    writeFileSync(path, 'backends: "stdout"\n'); // same content: nothing
    writeFileSync(join(dir, 'config.yaml.tmp'), 'backends: "null stdout"\n');
    renameSync(join(dir, 'config.yaml.tmp'), path); // an editor's save
    await waitFor(() => seen.length === 2);
    writeFileSync(path, 'backends: "null"\n'); // a third edit: anything reported in between would come first
    await waitFor(() => seen.length >= 3);
    expect(seen).to.deep.equal([
      { text: 'backends: "stdout"\n', forced: false },
      { text: 'backends: "null stdout"\n', forced: false },
      { text: 'backends: "null"\n', forced: false },
    ]);
  });

  it('keeps quiet while the file is missing, reports it when it is back, and re-reads on trigger()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-source-'));
    const path = join(dir, 'config.toml');
    writeFileSync(path, 'a = 1\n');
    const seen = start(path);
    await source!.initial();
    source!.connect(recordingSink(seen));
    await source!.start();
    rmSync(path);
    await source!.hangup(); // a forced re-read while the file is missing
    expect(seen).to.deep.equal([]);
    writeFileSync(path, 'a = 2\n');
    await waitFor(() => seen.length >= 1);
    expect(seen).to.deep.equal([{ text: 'a = 2\n', forced: false }]);
    await source!.hangup();
    expect(seen).to.deep.equal([
      { text: 'a = 2\n', forced: false },
      { text: 'a = 2\n', forced: true },
    ]);
  });

  it('notices a change through the periodic re-read when no event arrives (a symlink into another directory)', async () => {
    const real = mkdtempSync(join(tmpdir(), 'file-source-real-'));
    const linkDir = mkdtempSync(join(tmpdir(), 'file-source-link-'));
    writeFileSync(join(real, 'config.toml'), 'a = 1\n');
    symlinkSync(join(real, 'config.toml'), join(linkDir, 'config.toml'));
    const seen = start(join(linkDir, 'config.toml'), 100);
    await source!.initial();
    source!.connect(recordingSink(seen));
    await source!.start();
    writeFileSync(join(real, 'config.toml'), 'a = 3\n');
    await waitFor(() => seen.length === 1, 3000);
    expect(seen[0]!.text).to.equal('a = 3\n');
  });
});
