// The agent's Node object: registered once (labels for hostname, OS and zone), then kept Ready by a
// heartbeat that replaces the node status and renews the node Lease in kube-node-lease.
import * as k8s from '@kubernetes/client-node';

const LEASE_RENEW_MS = 10_000;

export class NodeRegistration {
  private readonly core: k8s.CoreV1Api;
  private readonly coord: k8s.CoordinationV1Api;
  private readonly name: string;
  /** The port of the agent's kubelet endpoint (logs.ts), reported as the Node's kubelet port. */
  private readonly kubeletPort: () => number;
  private lastLease = 0;

  constructor(kc: k8s.KubeConfig, name: string, kubeletPort: () => number) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.coord = kc.makeApiClient(k8s.CoordinationV1Api);
    this.name = name;
    this.kubeletPort = kubeletPort;
  }

  /** Creates the Node (an existing one is kept) and sends the first heartbeat. */
  async register(): Promise<void> {
    const labels = {
      'kubernetes.io/hostname': this.name,
      'kubernetes.io/os': 'linux',
      'topology.kubernetes.io/zone': 'local',
    };
    try {
      await this.core.createNode({ body: { metadata: { name: this.name, labels } } });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
    await this.heartbeat();
  }

  async heartbeat(): Promise<void> {
    let node = await this.core.readNode({ name: this.name });
    // the API server taints a new Node not-ready; the node lifecycle controller (not run here) would
    // lift it once the node reports Ready, so the agent does
    if (node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'))) {
      node.spec.taints = node.spec.taints.filter((t) => !t.key.startsWith('node.kubernetes.io/'));
      node = await this.core.replaceNode({ name: this.name, body: node });
    }
    node.status = this.status();
    await this.core.replaceNodeStatus({ name: this.name, body: node });
    if (Date.now() - this.lastLease > LEASE_RENEW_MS) {
      this.lastLease = Date.now();
      const namespace = 'kube-node-lease';
      const body = {
        metadata: { name: this.name, namespace },
        spec: { holderIdentity: this.name, leaseDurationSeconds: 40, renewTime: new k8s.V1MicroTime() },
      };
      try {
        await this.coord.replaceNamespacedLease({ name: this.name, namespace, body });
      } catch {
        try {
          await this.coord.createNamespacedLease({ namespace, body });
        } catch {
          /* next time */
        }
      }
    }
  }

  private status(): k8s.V1NodeStatus {
    const t = new Date();
    return {
      capacity: { cpu: '2', memory: '24Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '24Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'test-world node agent',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
        },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.kubeletPort() } },
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: this.name },
      ],
      nodeInfo: {
        architecture: 'amd64',
        bootID: '',
        containerRuntimeVersion: 'deis-etcd-test://1',
        kernelVersion: '',
        kubeProxyVersion: '',
        kubeletVersion: 'v1.36.3',
        machineID: '',
        operatingSystem: 'linux',
        osImage: 'test world',
        systemUUID: '',
      },
    };
  }
}
