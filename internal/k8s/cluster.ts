// The Kubernetes calls of `deis-etcd status`, from an operator's kubeconfig (a laptop) or a pod's
// service account: the pods of a selector, a StatefulSet's replicas, a Secret's key, and HTTP to a
// pod's port through the API server's pod proxy (pods/proxy), so that no port-forward is needed and
// etcd's HTTP/JSON gateway (/v3/...) and /health answer from anywhere the API server is reachable.
import type { RequestOptions } from 'node:https';
import { requestText } from '../http-request.ts';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { DeisError } from '../errors.ts';
import { translate } from './client.ts';

export interface ClusterPod {
  name: string;
  ip: string | undefined;
  ready: boolean;
  deleting: boolean;
  phase: string;
}

/** A reply through the pod proxy: the pod's HTTP status and body. */
export interface ProxyReply {
  status: number;
  body: string;
}

export interface ClusterApi {
  readonly namespace: string;
  /** Whether this runs in a pod (the service account), where pod IPs are reachable directly. */
  readonly inCluster: boolean;
  /** Who the calls run as, for error lines: the kubeconfig context, or the pod's service account. */
  readonly identity: string;
  listPods(selector: string): Promise<ClusterPod[]>;
  /** spec.replicas; undefined when the StatefulSet does not exist. */
  statefulSetReplicas(name: string): Promise<number | undefined>;
  /** A Secret's key; undefined when the Secret or key is absent. */
  secretKey(name: string, key: string): Promise<string | undefined>;
  /**
   * GET (no body) or POST (JSON body) to pod:port/path through the API server; rejects after timeoutMs,
   * with reason 'not-proxyable' when the API server does not proxy to the pod's address (it proxies
   * only to global unicast addresses: not to a test world's loopback pods).
   */
  proxy(pod: string, port: number, path: string, body: unknown, timeoutMs: number): Promise<ProxyReply>;
}

export interface ClusterTarget {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
}

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Loads the kubeconfig (or the in-cluster service account) and checks the context exists. */
export function connectCluster(t: ClusterTarget, env: NodeJS.ProcessEnv): ClusterApi {
  const kc = new k8s.KubeConfig();
  let namespace = t.namespace;
  let identity: string;
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  const file = t.kubeconfig ?? env.KUBECONFIG?.split(':')[0] ?? (existsSync(home) ? home : undefined);
  if (!file && !env.KUBERNETES_SERVICE_HOST)
    throw new DeisError(
      'environment',
      `no kubeconfig (${home} is absent and KUBECONFIG is not set) and not in a pod: pass --kubeconfig FILE`,
    );
  if (file) {
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new DeisError(
        'environment',
        `cannot read the kubeconfig ${file}: pass --kubeconfig FILE or set KUBECONFIG`,
        {
          cause: err,
        },
      );
    }
    const names = kc.getContexts().map((c) => c.name);
    if (t.context) {
      if (!names.includes(t.context))
        throw new DeisError(
          'config',
          `context '${t.context}' is not in the kubeconfig ${file} (contexts: ${names.join(', ') || 'none'})`,
        );
      kc.setCurrentContext(t.context);
    }
    const ctx = kc.getContextObject(kc.getCurrentContext());
    if (!ctx || !kc.getCurrentCluster())
      throw new DeisError(
        'config',
        `the kubeconfig ${file} has no usable current context: pass --context (contexts: ${names.join(', ') || 'none'})`,
      );
    namespace ??= ctx.namespace ?? 'default';
    identity = `context ${ctx.name}`;
  } else {
    kc.loadFromCluster();
    try {
      namespace ??= readFileSync(SA_NAMESPACE, 'utf8').trim();
    } catch {
      namespace ??= 'default';
    }
    identity = "this pod's service account";
  }
  return clusterApi(kc, namespace, identity, !file);
}

function clusterApi(kc: k8s.KubeConfig, namespace: string, identity: string, inCluster: boolean): ClusterApi {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const call = async <T>(verb: string, resource: string, fn: () => Promise<T>, absent?: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (absent !== undefined || verb === 'get') {
        if (err instanceof k8s.ApiException && err.code === 404) return absent as T;
      }
      const e = translate(err, verb, resource, namespace);
      if (e.code !== 'forbidden') throw e;
      throw new DeisError(
        'forbidden',
        `the Kubernetes API refused to ${verb} ${resource} in namespace ${namespace} for ${identity}: ` +
          `status needs get/list on pods, get on statefulsets, create on pods/proxy (and get on the token Secret for heartbeats)`,
        { cause: err, reason: 'forbidden' },
      );
    }
  };
  const cluster = kc.getCurrentCluster()!;
  return {
    namespace,
    identity,
    inCluster,
    listPods: (selector) =>
      call('list', 'pods', async () =>
        (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.map((p) => ({
          name: p.metadata?.name ?? '',
          ip: p.status?.podIP,
          ready: !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          deleting: !!p.metadata?.deletionTimestamp,
          phase: p.status?.phase ?? 'Unknown',
        })),
      ),
    statefulSetReplicas: (name) =>
      call(
        'get',
        'statefulsets',
        async () => (await apps.readNamespacedStatefulSet({ name, namespace })).spec?.replicas ?? 1,
      ),
    secretKey: (name, key) =>
      call('get', 'secrets', async () => {
        const b64 = (await core.readNamespacedSecret({ name, namespace })).data?.[key];
        return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
      }),
    async proxy(pod, port, path, body, timeoutMs) {
      const url = new URL(
        `${cluster.server.replace(/\/$/, '')}/api/v1/namespaces/${namespace}/pods/http:${pod}:${port}/proxy${path}`,
      );
      const opts: RequestOptions = { method: body === undefined ? 'GET' : 'POST', headers: {} };
      await kc.applyToHTTPSOptions(opts);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      if (payload !== undefined) Object.assign(opts.headers!, { 'content-type': 'application/json' });
      const reply = await requestText(url, { ...opts, timeout: timeoutMs }, payload, (req) =>
        req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`))),
      ).catch((err: unknown) => {
        throw new DeisError('unreachable', `${pod}:${port}${path} through the API server: ${(err as Error).message}`, {
          cause: err,
          retryable: true,
        });
      });
      if (reply.status === 403 || reply.status === 401)
        throw new DeisError(
          'forbidden',
          `the Kubernetes API refused to proxy to pod ${pod} in namespace ${namespace} for ${identity} (HTTP ${reply.status}): ` +
            `status needs create on pods/proxy`,
          { reason: 'forbidden' },
        );
      if (reply.status === 400 && /address not allowed/.test(reply.body))
        throw new DeisError(
          'environment',
          `the API server does not proxy to pod ${pod}'s address (address not allowed: only global unicast pod IPs are proxied); ` +
            'use --via direct from a pod or a machine on the pod network',
          { reason: 'not-proxyable' },
        );
      return reply;
    },
  };
}
