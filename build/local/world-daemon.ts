// Runs the test world in the foreground until SIGTERM/SIGINT, for `make cluster-up` and `make up`:
// the control plane, the node agent and (with --product) the local overlay applied. It writes the
// admin kubeconfig to .local/kubeconfig and `ready` into .local/world/state once the world is up.
// With --image IMAGE (make up IMAGE=...), the overlay's pods run from that image through podman (the
// node agent's container mode) instead of as this checkout's processes.
// Usage: node build/local/world-daemon.ts [--product] [--image IMAGE]   (DEIS_ETCD_OVERLAY: the overlay, default local)
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, startTestWorld, withImage } from '../../test/world/world.ts';

const local = join(repoRoot, '.local');
const dir = join(local, 'world');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const state = (s: string) => writeFileSync(join(dir, 'state'), `${s}\n`);
state('starting');
const t0 = Date.now();
const imageAt = process.argv.indexOf('--image');
const image = imageAt > 0 ? process.argv[imageAt + 1] : undefined;
const world = await startTestWorld({ dir, ...(image ? { images: [image] } : {}) });
copyFileSync(world.kubeconfig, join(local, 'kubeconfig'));
console.log(`control plane and node agent up in ${Date.now() - t0} ms; kubeconfig at ${join(local, 'kubeconfig')}`);
if (process.argv.includes('--product')) {
  const name = process.env.DEIS_ETCD_OVERLAY || 'local';
  if (!/^local(-[a-z0-9-]+)?$/.test(name)) {
    throw new Error(`OVERLAY=${name}: the test world runs local overlays only (local, local-secure)`);
  }
  const overlay = join(repoRoot, 'kustomize/overlays', name);
  if (image) {
    // the overlay with its deis/etcd image replaced, as `kustomize edit set image` would
    const rendered = await world.kubectl(['kustomize', overlay]);
    console.log(await world.kubectl(['apply', '-f', '-'], withImage(rendered, image)));
  } else {
    console.log(await world.kubectl(['apply', '-k', overlay]));
  }
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
