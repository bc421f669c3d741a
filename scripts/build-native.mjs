// Compiles the optional native UDP batch receiver (native/udp_batch.c) into
// build/udp_batch.node with the C compiler and the Node-API headers that ship with the
// running Node. Linux only. Without a compiler or headers it reports why and exits 0
// unless --required is given: the daemon then receives with node:dgram.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.argv.includes('--required');
const source = join(root, 'native', 'udp_batch.c');
const output = join(root, 'build', 'udp_batch.node');

function give_up(reason) {
  console.error(`native receiver not built: ${reason}; the daemon will use node:dgram`);
  process.exit(required ? 1 : 0);
}

if (process.platform !== 'linux') give_up(`recvmmsg(2) needs Linux, this is ${process.platform}`);
const candidates = [
  join(dirname(realpathSync(process.execPath)), '..', 'include', 'node'),
  '/usr/local/include/node',
  '/usr/include/node',
];
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
if (include === undefined) give_up(`no Node-API headers in ${candidates.join(', ')}`);
const cc = process.env.CC ?? 'cc';
mkdirSync(dirname(output), { recursive: true });
try {
  execFileSync(
    cc,
    [
      '-shared',
      '-fPIC',
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-std=gnu11',
      '-DNODE_GYP_MODULE_NAME=udp_batch',
      `-I${include}`,
      source,
      '-o',
      output,
    ],
    { stdio: 'inherit' },
  );
} catch (err) {
  give_up(`${cc} failed (${err.message})`);
}
console.error(`native receiver built: ${output}`);
