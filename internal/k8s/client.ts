// The adapter over @kubernetes/client-node: the few Kubernetes calls the programs make (pods of the
// member selector, this pod, the StatefulSet's replicas, the token Secret, Events: events.ts), returning plain snapshots.
// Every API error becomes a DeisError in {@link translate}: a 403 names the verb and resource the
// ServiceAccount's Role lacks. Nothing else in the project imports the client library.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { DeisError } from '../errors.ts';
import { eventSink, type EventSink } from './events.ts';
import { kubeSource } from './lazy.ts';

export interface PodInfo {
  name: string;
  ip: string | undefined;
  /** Set once deletion has been requested. */
  deleting: boolean;
  ready: boolean;
}

/** The Kubernetes calls the programs make. */
export interface KubeApi {
  listPods(selector: string): Promise<PodInfo[]>;
  getPod(name: string): Promise<PodInfo | undefined>;
  /** spec.replicas of a StatefulSet; undefined when it does not exist (deleted). */
  statefulSetReplicas(name: string): Promise<number | undefined>;
  /** The value at `key` of Secret `name`, creating the Secret with generate() if it is absent. */
  getOrCreateSecret(name: string, key: string, generate: () => string): Promise<string>;
  /** Kubernetes Events (events.k8s.io/v1) in this namespace. */
  readonly events: EventSink;
  /**
   * Secret `name`'s data (decoded), creating it with `type` and generate()'s data when it is absent; when
   * a racing start created it first (409), theirs is read and returned, so every start agrees on one.
   */
  getOrCreateSecretData(
    name: string,
    type: string,
    generate: () => Promise<Record<string, string>>,
  ): Promise<Record<string, string>>;
  /**
   * Compare-and-swap on Secret `name`'s data: update() sees its decoded data and returns new data or
   * undefined (keep it); the replace carries the read's resourceVersion, so a concurrent change makes
   * it a retryable conflict. Resolves with the data the Secret holds afterwards.
   */
  updateSecretData(
    name: string,
    update: (data: Record<string, string>) => Promise<Record<string, string> | undefined>,
  ): Promise<Record<string, string>>;
}

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * Connects from KUBECONFIG, else from the in-cluster service account; undefined when neither is
 * there (the programs then run without Kubernetes, e.g. on a laptop).
 */
export function connectKube(env: NodeJS.ProcessEnv, namespace: string | undefined): KubeApi | undefined {
  const kc = new k8s.KubeConfig();
  let ns = namespace;
  try {
    const source = kubeSource(env);
    if (source === 'kubeconfig' && env.KUBECONFIG) {
      kc.loadFromFile(env.KUBECONFIG);
      ns ??= kc.getContextObject(kc.getCurrentContext())?.namespace;
    } else if (source === 'in-cluster') {
      kc.loadFromCluster();
      try {
        ns ??= readFileSync(SA_NAMESPACE, 'utf8').trim();
      } catch {
        /* fall through */
      }
    } else {
      return undefined;
    }
  } catch (err) {
    throw new DeisError(
      'environment',
      `cannot load the Kubernetes client configuration ` +
        `(${env.KUBECONFIG ? `KUBECONFIG=${env.KUBECONFIG}` : 'in-cluster service account'})`,
      { cause: err },
    );
  }
  return kubeApi(kc, ns ?? 'default');
}

/** Maps an API error to ours; `verb resource` names the call for a 403. */
export function translate(err: unknown, verb: string, resource: string, namespace: string): DeisError {
  if (err instanceof DeisError) return err;
  const code = err instanceof k8s.ApiException ? err.code : undefined;
  if (code === 403 || code === 401) {
    return new DeisError(
      'forbidden',
      `the Kubernetes API refused to ${verb} ${resource} in namespace ${namespace} (HTTP ${code}): ` +
        `grant '${verb}' on '${resource}' to this pod's ServiceAccount in its Role`,
      { cause: err, reason: 'forbidden' },
    );
  }
  if (code === 409)
    return new DeisError('conflict', `${verb} ${resource}: conflict`, { cause: err, reason: 'conflict' });
  if (code !== undefined && code < 500 && code !== 429) {
    const reason = code === 404 ? 'not-found' : 'bad-request';
    return new DeisError('internal', `${verb} ${resource} in ${namespace}: HTTP ${code}`, { cause: err, reason });
  }
  const detail = code ? ` (HTTP ${code})` : '';
  const reason = code ? 'server-error' : undefined;
  return new DeisError('unreachable', `cannot reach the Kubernetes API to ${verb} ${resource}${detail}`, {
    cause: err,
    retryable: true,
    reason,
  });
}

const notFound = (err: unknown) => err instanceof k8s.ApiException && err.code === 404;

function podInfo(p: k8s.V1Pod): PodInfo {
  return {
    name: p.metadata?.name ?? '',
    ip: p.status?.podIP,
    deleting: !!p.metadata?.deletionTimestamp,
    ready: !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  };
}

export function kubeApi(kc: k8s.KubeConfig, namespace: string): KubeApi {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const call = async <T>(verb: string, resource: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw translate(err, verb, resource, namespace);
    }
  };
  const optional = async <T>(verb: string, resource: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      if (notFound(err)) return undefined;
      throw translate(err, verb, resource, namespace);
    }
  };
  const decoded = (s: k8s.V1Secret) =>
    Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  const getOrCreateSecretData: KubeApi['getOrCreateSecretData'] = async (name, type, generate) => {
    const read = async () => {
      const s = await optional('get', 'secrets', () => core.readNamespacedSecret({ name, namespace }));
      return s && decoded(s);
    };
    const existing = await read();
    if (existing) return existing;
    try {
      await core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name,
            labels: { 'app.kubernetes.io/name': 'deis-etcd', 'app.kubernetes.io/component': 'discovery' },
          },
          type,
          stringData: await generate(),
        },
      });
    } catch (err) {
      const e = translate(err, 'create', 'secrets', namespace);
      if (e.reason !== 'conflict') throw e;
      // someone else created it first: theirs wins, so every racing start agrees on one
    }
    const created = await read();
    if (!created) throw new DeisError('internal', `Secret ${name} vanished right after it was created: try again`);
    return created;
  };
  return {
    events: eventSink(kc, namespace),
    listPods: (selector) =>
      call('list', 'pods', async () =>
        (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.map(podInfo),
      ),
    getPod: (name) => optional('get', 'pods', async () => podInfo(await core.readNamespacedPod({ name, namespace }))),
    statefulSetReplicas: (name) =>
      optional(
        'get',
        'statefulsets',
        async () => (await apps.readNamespacedStatefulSet({ name, namespace })).spec?.replicas ?? 1,
      ),
    // the discovery token: one key of an Opaque Secret made when absent (racing starts agree on one)
    async getOrCreateSecret(name, key, generate) {
      const data = await getOrCreateSecretData(name, 'Opaque', async () => ({ [key]: generate() }));
      const value = data[key];
      if (value === undefined)
        throw new DeisError('internal', `Secret ${name} exists but has no '${key}' key: add one or delete the Secret`);
      return value;
    },
    getOrCreateSecretData,
    async updateSecretData(name, update) {
      const s = await call('get', 'secrets', () => core.readNamespacedSecret({ name, namespace }));
      const data = await update(decoded(s));
      if (!data) return decoded(s);
      const body = { ...s, data: undefined, stringData: data };
      try {
        return decoded(await core.replaceNamespacedSecret({ name, namespace, body }));
      } catch (err) {
        const e = translate(err, 'update', 'secrets', namespace);
        if (e.reason !== 'conflict') throw e;
        throw new DeisError('conflict', `Secret ${name} changed while it was being updated: read it again`, {
          cause: err,
          retryable: true,
        });
      }
    },
  };
}
