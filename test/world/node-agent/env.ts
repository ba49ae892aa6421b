// Container env as the kubelet resolves it: PATH/HOME/HOSTNAME, KUBERNETES_SERVICE_HOST/PORT pointing
// at the real API server, the namespace's service links (<SERVICE>_SERVICE_HOST/_PORT and the
// docker-link style <SERVICE>_PORT_* variables), envFrom, then each env entry in order: a literal with
// $(VAR) expansion, fieldRef, secretKeyRef, configMapKeyRef. fieldRef values also fill downwardAPI
// volumes (volumes.ts).
import type * as k8s from '@kubernetes/client-node';
import type { AgentOptions, Run } from './state.ts';

export type EnvOptions = Pick<AgentOptions, 'apiHost' | 'apiPort' | 'extraPath'>;

/** A Secret's data, base64-decoded. */
export function decodeSecret(secret: k8s.V1Secret): Record<string, string> {
  const decode = (v: string) => Buffer.from(v, 'base64').toString('utf8');
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, decode(v)]));
}

/** The env of container `c` of `run`; throws when a required secret or configmap key is missing. */
export async function resolveEnv(
  core: k8s.CoreV1Api,
  opts: EnvOptions,
  run: Run,
  c: k8s.V1Container,
): Promise<NodeJS.ProcessEnv> {
  const env: Record<string, string> = {
    PATH: [...(opts.extraPath ?? []), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: '/root',
    HOSTNAME: run.name,
    KUBERNETES_SERVICE_HOST: opts.apiHost,
    KUBERNETES_SERVICE_PORT: String(opts.apiPort),
    KUBERNETES_SERVICE_PORT_HTTPS: String(opts.apiPort),
  };
  if (run.pod.spec!.enableServiceLinks !== false) {
    for (const svc of (await core.listNamespacedService({ namespace: run.ns })).items) addServiceLinks(env, svc);
  }
  for (const from of c.envFrom ?? []) {
    const data = from.secretRef
      ? decodeSecret(await core.readNamespacedSecret({ name: from.secretRef.name!, namespace: run.ns }))
      : from.configMapRef
        ? ((await core.readNamespacedConfigMap({ name: from.configMapRef.name!, namespace: run.ns })).data ?? {})
        : {};
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(run, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const s = await core.readNamespacedSecret({ name: ref.name!, namespace: run.ns });
      const v = s.data?.[ref.key];
      if (v !== undefined) env[e.name] = Buffer.from(v, 'base64').toString('utf8');
      else if (!ref.optional) throw new Error(`secret key ${ref.key} missing`);
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const cm = await core.readNamespacedConfigMap({ name: ref.name!, namespace: run.ns });
      const v = cm.data?.[ref.key];
      if (v !== undefined) env[e.name] = v;
      else if (!ref.optional) throw new Error(`configmap key ${ref.key} missing`);
    }
  }
  return env;
}

/** The service-link variables of one Service (none for a headless one or `kubernetes`). */
function addServiceLinks(env: Record<string, string>, svc: k8s.V1Service): void {
  const ip = svc.spec?.clusterIP;
  if (!ip || ip === 'None' || svc.metadata!.name === 'kubernetes') return;
  const prefix = svc.metadata!.name!.toUpperCase().replace(/-/g, '_');
  const first = svc.spec!.ports?.[0];
  if (!first) return;
  env[`${prefix}_SERVICE_HOST`] = ip;
  env[`${prefix}_SERVICE_PORT`] = String(first.port);
  env[`${prefix}_PORT`] = `tcp://${ip}:${first.port}`;
  for (const p of svc.spec!.ports ?? []) {
    if (p.name) env[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
    const proto = (p.protocol ?? 'TCP').toUpperCase();
    const link = `${prefix}_PORT_${p.port}_${proto}`;
    env[link] = `tcp://${ip}:${p.port}`;
    env[`${link}_PROTO`] = proto.toLowerCase();
    env[`${link}_PORT`] = String(p.port);
    env[`${link}_ADDR`] = ip;
  }
}

/** A downward-API field of the pod (fieldRef.fieldPath); '' for one not modelled. */
export function fieldValue(run: Run, path: string): string {
  const m = run.pod.metadata!;
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return m.labels?.[label[1]!] ?? '';
  const ann = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (ann) return m.annotations?.[ann[1]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return m.name!;
    case 'metadata.namespace':
      return m.namespace!;
    case 'metadata.uid':
      return m.uid!;
    case 'spec.nodeName':
      return run.pod.spec!.nodeName ?? '';
    case 'spec.serviceAccountName':
      return run.pod.spec!.serviceAccountName ?? '';
    case 'status.podIP':
      return run.ip;
    case 'status.hostIP':
      return '127.0.0.1';
    default:
      return '';
  }
}

/** $(VAR) expansion as the kubelet does it; $$ escapes. */
export function expand(s: string, env: Record<string, string | undefined>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string | undefined) =>
    all === '$$' ? '$' : (env[name!] ?? all),
  );
}
