// The test world's PV provisioner: every pending claim without a volume gets a hostPath
// PersistentVolume, pre-bound to it, over a new directory under <stateDir>/pvs that outlives the pod
// (so a StatefulSet pod that comes back finds its data).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

/** Provisions a volume for each pending, unbound claim of any namespace. */
export async function provisionVolumes(core: k8s.CoreV1Api, stateDir: string): Promise<void> {
  const claims = (await core.listPersistentVolumeClaimForAllNamespaces()).items.filter(
    (c) => c.status?.phase === 'Pending' && !c.spec?.volumeName,
  );
  for (const c of claims) {
    const { namespace, name, uid } = c.metadata as { namespace: string; name: string; uid: string };
    const path = join(stateDir, 'pvs', `${namespace}-${name}-${uid.slice(0, 8)}`);
    mkdirSync(path, { recursive: true });
    try {
      await core.createPersistentVolume({
        body: {
          metadata: { name: `pv-${uid.slice(0, 13)}`, labels: { 'deis-etcd.test/provisioner': 'node-agent' } },
          spec: {
            capacity: { storage: c.spec?.resources?.requests?.storage ?? '1Gi' },
            accessModes: c.spec?.accessModes ?? ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Delete',
            hostPath: { path },
            storageClassName: c.spec?.storageClassName ?? '',
            claimRef: { namespace, name, uid },
          },
        },
      });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
  }
}
