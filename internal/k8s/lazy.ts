// The Kubernetes adapter without loading @kubernetes/client-node until a call needs it: the library
// costs more resident memory than the rest of a program (README, Memory), and a program that never
// calls the API (discovery with its token given, boot with --kubernetes off, --help) should not pay
// for it. Whether there is an API at all is decided here from the environment alone, as
// connectKube does; client.ts (and the library) is imported on the first call, once.
import type { EventSink } from './events.ts';
import type { KubeApi } from './client.ts';

/** Where connectKube would load its configuration from; undefined: no Kubernetes. */
export function kubeSource(env: NodeJS.ProcessEnv): 'kubeconfig' | 'in-cluster' | undefined {
  if (env.KUBECONFIG) return 'kubeconfig';
  if (env.KUBERNETES_SERVICE_HOST) return 'in-cluster';
  return undefined;
}

/**
 * A KubeApi that connects (connectKube) on its first call; undefined where connectKube would return
 * undefined. A configuration that cannot be loaded fails that first call (and every later one).
 */
export function lazyKube(env: NodeJS.ProcessEnv, namespace: string | undefined): KubeApi | undefined {
  if (!kubeSource(env)) return undefined;
  let api: Promise<KubeApi> | undefined;
  const load = () => {
    api ??= import('./client.ts').then((m) => {
      const kube = m.connectKube(env, namespace);
      if (!kube) throw new Error('k8s: connectKube found no configuration where kubeSource found one');
      return kube;
    });
    return api;
  };
  const events: EventSink = {
    create: async (e) => (await load()).events.create(e),
    repeat: async (name, count, at) => (await load()).events.repeat(name, count, at),
  };
  return {
    events,
    listPods: async (selector) => (await load()).listPods(selector),
    getPod: async (name) => (await load()).getPod(name),
    statefulSetReplicas: async (name) => (await load()).statefulSetReplicas(name),
    getOrCreateSecret: async (name, key, generate) => (await load()).getOrCreateSecret(name, key, generate),
    getOrCreateSecretData: async (name, type, generate) => (await load()).getOrCreateSecretData(name, type, generate),
    updateSecretData: async (name, update) => (await load()).updateSecretData(name, update),
  };
}
