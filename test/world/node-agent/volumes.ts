// A pod's volumes as host directories, later bind-mounted at their mountPaths (container.ts):
// secret, configMap, emptyDir and downwardAPI under the pod's state dir; projected (service-account
// token through the TokenRequest API, configMaps such as kube-root-ca.crt, secrets, downward API);
// persistentVolumeClaim as the directory of its bound PV (provisioner.ts); hostPath as itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { decodeSecret, fieldValue } from './env.ts';
import type { Run } from './state.ts';

/** Materializes the pod's volumes and returns name -> host directory. */
export async function materializeVolumes(core: k8s.CoreV1Api, run: Run): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of run.pod.spec!.volumes ?? []) {
    const dir = join(run.dir, 'volumes', v.name);
    if (v.persistentVolumeClaim) {
      const claim = v.persistentVolumeClaim.claimName;
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: run.ns });
      if (!pvc.spec?.volumeName) throw new Error(`claim ${claim} is not bound yet`);
      const pv = await core.readPersistentVolume({ name: pvc.spec.volumeName });
      out.set(v.name, pv.spec!.hostPath!.path);
      continue;
    }
    if (v.hostPath) {
      out.set(v.name, v.hostPath.path);
      continue;
    }
    mkdirSync(dir, { recursive: true });
    out.set(v.name, dir);
    if (v.emptyDir) continue;
    if (v.secret) await writeSecret(core, dir, run.ns, v.secret.secretName!, v.secret);
    if (v.configMap) await writeConfigMap(core, dir, run.ns, v.configMap.name!, v.configMap);
    if (v.downwardAPI) writeDownward(dir, run, v.downwardAPI.items);
    for (const src of v.projected?.sources ?? []) {
      if (src.serviceAccountToken) await writeToken(core, dir, run, src.serviceAccountToken);
      if (src.configMap) await writeConfigMap(core, dir, run.ns, src.configMap.name!, src.configMap);
      if (src.secret) await writeSecret(core, dir, run.ns, src.secret.name!, src.secret);
      if (src.downwardAPI) writeDownward(dir, run, src.downwardAPI.items);
    }
  }
  return out;
}

/** A token of the pod's service account, bound to the pod, from the TokenRequest API. */
async function writeToken(
  core: k8s.CoreV1Api,
  dir: string,
  run: Run,
  src: k8s.V1ServiceAccountTokenProjection,
): Promise<void> {
  const sa = run.pod.spec!.serviceAccountName ?? 'default';
  const tr = await core.createNamespacedServiceAccountToken({
    name: sa,
    namespace: run.ns,
    body: {
      spec: {
        audiences: src.audience ? [src.audience] : [],
        expirationSeconds: src.expirationSeconds ?? 3607,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: run.name, uid: run.uid },
      },
    },
  });
  writeFileSync(join(dir, src.path), tr.status?.token ?? '');
}

function writeDownward(dir: string, run: Run, items: k8s.V1DownwardAPIVolumeFile[] | undefined): void {
  for (const item of items ?? []) writeFileSync(join(dir, item.path), fieldValue(run, item.fieldRef?.fieldPath ?? ''));
}

/** Which keys of a Secret or ConfigMap become files, and whether it may be missing. */
interface KeySource {
  items?: k8s.V1KeyToPath[];
  optional?: boolean;
}

async function writeSecret(core: k8s.CoreV1Api, dir: string, ns: string, name: string, src: KeySource) {
  const read = async () => decodeSecret(await core.readNamespacedSecret({ name, namespace: ns }));
  await writeData(dir, `secret ${ns}/${name}`, read, src);
}

async function writeConfigMap(core: k8s.CoreV1Api, dir: string, ns: string, name: string, src: KeySource) {
  const read = async () => (await core.readNamespacedConfigMap({ name, namespace: ns })).data ?? {};
  await writeData(dir, `configmap ${ns}/${name}`, read, src);
}

/** A Secret's or ConfigMap's data as files; an optional one that does not exist gives none. */
async function writeData(dir: string, what: string, read: () => Promise<Record<string, string>>, src: KeySource) {
  let data: Record<string, string> = {};
  try {
    data = await read();
  } catch (err) {
    if (!(err instanceof k8s.ApiException && err.code === 404 && src.optional)) throw new Error(`${what} not found`);
  }
  writeItems(dir, data, src.items);
}

/** The keys listed in `items` at their paths, or every key as a file of its name. */
function writeItems(dir: string, data: Record<string, string>, items: k8s.V1KeyToPath[] | undefined): void {
  const entries = items
    ? items.filter((i) => data[i.key] !== undefined).map((i) => [i.path, data[i.key]!] as const)
    : Object.entries(data);
  for (const [path, value] of entries) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), value);
  }
}
