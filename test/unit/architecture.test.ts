import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * Which folders of src/ each folder may import from. Imports run one way: shared
 * contracts and utilities at the bottom, components above them, the daemon (the
 * composition root) and the CLI on top. docs/architecture.md draws the same map.
 */
const ALLOWED: Record<string, readonly string[]> = {
  shared: [],
  parser: ['shared'],
  wire: ['shared', 'parser'],
  aggregator: ['shared', 'parser'],
  receivers: ['shared', 'parser', 'wire'],
  ingest: ['shared', 'parser', 'wire', 'aggregator', 'receivers'],
  backends: ['shared', 'parser', 'wire', 'aggregator'],
  flusher: ['shared', 'aggregator', 'backends'],
  telemetry: ['shared', 'parser', 'ingest', 'backends', 'flusher'],
  config: ['shared', 'aggregator', 'ingest'],
  reload: ['shared', 'config', 'telemetry'],
  sink: ['shared'],
  daemon: [
    'shared',
    'parser',
    'aggregator',
    'receivers',
    'ingest',
    'backends',
    'flusher',
    'telemetry',
    'config',
    'reload',
  ],
  injector: ['shared', 'config', 'reload', 'daemon'],
  cli: ['shared', 'config', 'daemon', 'sink', 'telemetry', 'injector'],
  main: ['shared', 'cli'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports (and re-exports) of every module, resolved to module paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources('src')) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '(\.[^']+)'/gms)].map((m) =>
      normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'),
    );
    graph.set(file, targets);
  }
  return graph;
}

const folderOf = (file: string): string => relative('src', file).split('/')[0]!.replace(/\.ts$/, '');

describe('architecture', () => {
  const graph = importGraph();

  it('every folder of src/ has a place in the map', () => {
    expect([...new Set([...graph.keys()].map(folderOf))].filter((f) => ALLOWED[f] === undefined)).to.deep.equal([]);
  });

  it('imports run one way: each folder imports only the folders below it', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      for (const t of targets) {
        const from = folderOf(file);
        const to = folderOf(t);
        if (from !== to && !ALLOWED[from]!.includes(to)) wrong.push(`${file} → ${t}`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('no module imports itself through others (no import circle)', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (m: string, path: string[]): void => {
      state.set(m, 'open');
      for (const t of graph.get(m) ?? []) {
        if (state.get(t) === 'open') circles.push([...path.slice(path.indexOf(t)), t].join(' → '));
        else if (state.get(t) === undefined) visit(t, [...path, t]);
      }
      state.set(m, 'done');
    };
    for (const m of graph.keys()) if (state.get(m) === undefined) visit(m, [m]);
    expect(circles).to.deep.equal([]);
  });

  it('the checker sees imports: a known edge is found', () => {
    expect(graph.get('src/flusher/flusher.ts')).to.include('src/aggregator/merge.ts');
  });
});
