// The real adapters both entry points wire into their runners: the Kubernetes API (from a kubeconfig
// or the pod's service account, undefined without either; the client library loads on the first
// call) and etcd clients.
import { connectEtcd, type EtcdApi, type EtcdClientOptions } from './etcd/client.ts';
import type { KubeApi } from './k8s/client.ts';
import { lazyKube } from './k8s/lazy.ts';

export interface Adapters {
  kube: () => KubeApi | undefined;
  /** An etcd client; `tls` (PEM texts) for https endpoints. */
  connect: (endpoints: string[], tls?: EtcdClientOptions['tls'], auth?: EtcdClientOptions['auth']) => EtcdApi;
}

export function realAdapters(env: NodeJS.ProcessEnv, namespace: string | undefined): Adapters {
  return {
    kube: () => lazyKube(env, namespace),
    connect: (endpoints, tls, auth) => connectEtcd({ endpoints, tls, auth }),
  };
}
