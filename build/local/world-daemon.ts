// Runs the test world in the foreground until SIGTERM/SIGINT, for `make cluster-up` and `make up`:
// the control plane, the node agent and (with --product) the local overlay applied. It writes the
// admin kubeconfig to .local/kubeconfig and `ready` into .local/world/state once the world is up.
// Usage: node build/local/world-daemon.ts [--product]   (DEIS_ETCD_OVERLAY: the overlay, default local)
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, startTestWorld } from '../../test/world/world.ts';

const local = join(repoRoot, '.local');
const dir = join(local, 'world');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const state = (s: string) => writeFileSync(join(dir, 'state'), `${s}\n`);
state('starting');
const t0 = Date.now();
const world = await startTestWorld({ dir });
copyFileSync(world.kubeconfig, join(local, 'kubeconfig'));
console.log(`control plane and node agent up in ${Date.now() - t0} ms; kubeconfig at ${join(local, 'kubeconfig')}`);
if (process.argv.includes('--product')) {
  const overlay = process.env.DEIS_ETCD_OVERLAY || 'local';
  if (!/^local(-[a-z0-9-]+)?$/.test(overlay)) {
    throw new Error(`OVERLAY=${overlay}: the test world runs local overlays only (local, local-secure)`);
  }
  console.log(await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays', overlay)]));
}
state('ready');
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  state('stopping');
  await world.stop();
  state('stopped');
  process.exit(0);
};
process.removeAllListeners('SIGTERM');
process.removeAllListeners('SIGINT');
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
setInterval(() => {
  /* keep running */
}, 60_000);
