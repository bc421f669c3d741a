import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { BACKEND_FACTORIES } from '../../src/backends/registry.js';
import { RECEIVER_FACTORIES } from '../../src/receivers/registry.js';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * Which folders of src/ each folder may import from. Imports run one way: shared
 * contracts and utilities at the bottom, components above them, the daemon (the
 * composition root) and the CLI on top. docs/architecture.md states the same map (checked
 * below, with the doc's other claims about the code).
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
  workers: ['shared', 'parser', 'aggregator', 'receivers', 'ingest'],
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
    'workers',
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

describe('docs/architecture.md says what the code does', () => {
  const doc = readFileSync('docs/architecture.md', 'utf8');
  /** The prose: the doc without its diagrams (code blocks). */
  const prose = doc.replace(/^```[^]*?^```/gm, '');
  /** The backticked names in a text. */
  const ticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  /** The rows of the markdown table that follows `heading`, as cells. */
  const table = (heading: string): string[][] => {
    const from = doc.indexOf(heading);
    expect(from, heading).to.be.greaterThan(-1);
    const rows: string[][] = [];
    for (const line of doc.slice(from).split('\n').slice(1)) {
      if (line.startsWith('|'))
        rows.push(
          line
            .split(/(?<!\\)\|/)
            .slice(1, -1)
            .map((c) => c.trim()),
        );
      else if (rows.length > 0) break;
    }
    return rows.slice(2);
  };

  it('its import table is the map this test enforces', () => {
    const stated = Object.fromEntries(
      table('## Import rules').map(([f, allowed]) => [ticked(f!)[0]!, ticked(allowed!)]),
    );
    expect(stated).to.deep.equal(ALLOWED);
  });

  it('its folder map lists every folder of src/, each above the folders it imports', () => {
    const block = doc.slice(doc.indexOf('```\nsrc/'), doc.indexOf('```', doc.indexOf('```\nsrc/') + 3));
    const listed = [...block.matchAll(/^ {2}([a-z]+)(?:\/|\.ts)/gm)].map((m) => m[1]!);
    expect([...listed].sort()).to.deep.equal(Object.keys(ALLOWED).sort());
    for (const [folder, allowed] of Object.entries(ALLOWED))
      for (const below of allowed)
        expect(listed.indexOf(below), `${folder} imports ${below}`).to.be.greaterThan(listed.indexOf(folder));
  });

  it('names the backend and receiver types of the registries', () => {
    const line = (prefix: string): string[] => ticked(doc.slice(doc.indexOf(prefix)).split('\n\n')[0]!);
    expect(line('Backend types:')).to.deep.equal([...BACKEND_FACTORIES.keys()]);
    expect(line('Receiver types:')).to.deep.equal([...RECEIVER_FACTORIES.keys()]);
  });

  it('each seam file exists and exports what the seams table names', () => {
    const rows = table('## Seams');
    expect(rows.length).to.be.greaterThan(10);
    for (const [fileCell, exportsCell] of rows) {
      const file = ticked(fileCell!)[0]!;
      const text = readFileSync(file, 'utf8');
      for (const name of ticked(exportsCell!))
        expect(text, `${file} exports ${name}`).to.match(
          new RegExp(
            `^export (?:declare )?(?:abstract )?(?:async )?(?:interface|class|type|function\\*?|const|let) ${name}\\b`,
            'm',
          ),
        );
    }
  });

  it('lists the fields of BackendDeps and BackendMetrics', () => {
    const src = readFileSync('src/backends/backend.ts', 'utf8');
    const fields = (iface: string): string[] => {
      const body = src.slice(
        src.indexOf(`export interface ${iface} {`),
        src.indexOf('\n}', src.indexOf(`export interface ${iface} {`)),
      );
      return [...body.matchAll(/^ {2}(?:readonly )?([a-zA-Z]+)\??[:(]/gm)].map((m) => m[1]!);
    };
    const stated = (iface: string): string[] => {
      const m = new RegExp(`\`${iface}\`\\s+\\(([^)]*)\\)`).exec(prose);
      expect(m, iface).to.not.equal(null);
      return ticked(m![1]!);
    };
    expect(stated('BackendDeps')).to.deep.equal(fields('BackendDeps'));
    expect(stated('BackendMetrics')).to.deep.equal(fields('BackendMetrics'));
  });

  it('every file it cites exists', () => {
    const cited = ticked(prose).filter((t) => /^(src|test|native|scripts)\/[\w./-]+$/.test(t));
    expect(cited.length).to.be.greaterThan(20);
    expect(cited.filter((f) => !existsSync(f))).to.deep.equal([]);
  });

  it('names exactly the files that may read the runtime clock or set its timers', () => {
    const conventions = doc.slice(doc.indexOf('- **Time.**'), doc.indexOf('- **Errors.**'));
    const stated = ticked(conventions).filter((t) => t.startsWith('src/') && t.endsWith('.ts'));
    const using = sources('src').filter((f) =>
      /(?<![.\w'"`])(setTimeout|setInterval)\((?!\s*\w+\s*:)|\bDate\.now\(|\bperformance\.now\(/.test(
        readFileSync(f, 'utf8'),
      ),
    );
    expect(using.sort()).to.deep.equal([...stated].sort());
  });

  it('names every error code of the family', () => {
    const src = readFileSync('src/shared/errors.ts', 'utf8');
    const union = src.slice(
      src.indexOf('export type DaemonErrorCode'),
      src.indexOf(';', src.indexOf('export type DaemonErrorCode')),
    );
    const codes = [...union.matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1]!);
    const errors = doc.slice(doc.indexOf('- **Errors.**'), doc.indexOf('- **Bad input**'));
    expect(ticked(errors).filter((t) => t.startsWith('ERR_'))).to.deep.equal(codes);
  });

  it('only src/main.ts exits the process', () => {
    expect(sources('src').filter((f) => /process\.exit\(/.test(readFileSync(f, 'utf8')))).to.deep.equal([
      'src/main.ts',
    ]);
  });

  it('only the injector loads @kubernetes/client-node (a sidecar resolves its kubeconfig in a child process)', () => {
    const valueImport = /^import\s+(?!type\b)[^;]*?from '@kubernetes\/client-node'/ms;
    const loaders = sources('src').filter((f) => valueImport.test(readFileSync(f, 'utf8')));
    expect(loaders).to.have.members(['src/injector/reconciler.ts', 'src/reload/kubeconfig.ts']);
    const graph = importGraph();
    const importers = [...graph].filter(([, targets]) => targets.includes('src/reload/kubeconfig.ts')).map(([f]) => f);
    expect(importers).to.deep.equal(['src/injector/injector.ts']);
  });

  it("a daemon started with plain flags never loads yargs' commands, help and locales", () => {
    const valueImport = /^import\s+(?!type\b)[^;]*?from 'yargs'/ms;
    expect(sources('src').filter((f) => valueImport.test(readFileSync(f, 'utf8')))).to.deep.equal([
      'src/cli/full-cli.ts',
    ]);
    // The full CLI is loaded only by a dynamic import.
    const graph = importGraph();
    expect([...graph].filter(([, targets]) => targets.includes('src/cli/full-cli.ts'))).to.deep.equal([]);
    expect(readFileSync('src/cli/cli.ts', 'utf8')).to.contain("await import('./full-cli.js')");
  });

  it('a backend or receiver is loaded by its first instance: its index.ts imports the implementation as a type only', () => {
    const indexes = sources('src').filter((f) => /^src\/(backends|receivers)\/[^/]+\/index\.ts$/.test(f));
    expect(indexes.length).to.be.greaterThan(12);
    for (const f of indexes) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).to.not.match(/^import\s+(?!type\b)[^;]*?from '\.\/[\w-]+-(backend|receiver)\.js'/ms);
      expect(text, f).to.match(
        /onFirstUse<typeof Implementation>\(import\.meta\.url, '\.\/[\w-]+-(backend|receiver)\.js'\)/,
      );
    }
  });
});
