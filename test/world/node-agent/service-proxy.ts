// A userspace service proxy, as kube-proxy would be: for each ClusterIP:port of a Service with a
// selector, a listener on that address that pipes each connection to a Ready pod (picked at random)
// at the target port (a number or a container port's name). It resolves Services to pods itself,
// because the API server refuses loopback addresses in EndpointSlices.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type * as k8s from '@kubernetes/client-node';

const isReady = (pod: k8s.V1Pod) =>
  !!pod.status?.podIP &&
  !pod.metadata?.deletionTimestamp &&
  !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export class ServiceProxy {
  private readonly core: k8s.CoreV1Api;
  private readonly onError: (err: unknown) => void;
  private readonly listeners = new Map<string, Server>();

  constructor(core: k8s.CoreV1Api, onError: (err: unknown) => void) {
    this.core = core;
    this.onError = onError;
  }

  /** Opens a listener for every new ClusterIP:port and closes those of Services that went away. */
  async sync(): Promise<void> {
    const services = (await this.core.listServiceForAllNamespaces()).items;
    const want = new Set<string>();
    for (const svc of services) {
      const ip = svc.spec?.clusterIP;
      if (!ip || ip === 'None' || !svc.spec?.selector) continue;
      const ns = svc.metadata!.namespace!;
      const selector = Object.entries(svc.spec.selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      for (const p of svc.spec.ports ?? []) {
        const key = `${ip}:${p.port}`;
        want.add(key);
        if (this.listeners.has(key)) continue;
        const server = createServer((sock) => {
          this.forward(sock, ns, selector, p).catch(() => sock.destroy());
        });
        server.on('error', (err) => this.onError(err));
        server.listen({ host: ip, port: p.port });
        this.listeners.set(key, server);
      }
    }
    for (const [key, server] of this.listeners)
      if (!want.has(key)) {
        server.close();
        this.listeners.delete(key);
      }
  }

  close(): void {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }

  private async forward(sock: Socket, ns: string, selector: string, p: k8s.V1ServicePort): Promise<void> {
    const pods = (await this.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items.filter(isReady);
    const pod = pods[Math.floor(Math.random() * pods.length)];
    if (!pod) {
      sock.destroy();
      return;
    }
    const named = () => pod.spec!.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === p.targetPort);
    const target =
      typeof p.targetPort === 'number' ? p.targetPort : p.targetPort ? (named()?.containerPort ?? p.port) : p.port;
    const up = createConnection({ host: pod.status!.podIP!, port: target });
    sock.pipe(up).pipe(sock);
    const end = () => {
      sock.destroy();
      up.destroy();
    };
    up.on('error', end);
    sock.on('error', end);
  }
}
