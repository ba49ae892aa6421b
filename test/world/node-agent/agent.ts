// The test world's kubelet: registers a Node (node.ts) and runs the pods bound to it as local
// processes. Each pod gets its own loopback address (127.10.x.y) as status.podIP and a state dir;
// its containers run as process groups (container.ts) with the kubelet's env (env.ts) and volumes
// (volumes.ts); the agent reports status (status.ts) with Ready from the readiness probes
// (probes.ts), restarts containers per restartPolicy, and on deletion sends SIGTERM, waits the grace
// period, sends SIGKILL, then lets the object go. Beside the pods it runs the PV provisioner
// (provisioner.ts), the service proxy (service-proxy.ts) and the cluster-DNS hosts file (hosts.ts);
// tests inject faults through faults.ts. Pods: a watch of the pods bound to this node wakes the sync at
// once (as the kubelet's watch does), beside a 300 ms resync; a probe whose result flips wakes it too;
// the rest (services, volumes) is polled.
// Container mode (image-mode.ts): pods whose image is in AgentOptions.images run from that image
// through podman instead. Memory limits are enforced through the cgroup v1 memory controller (cgroup.ts) where it is
// writable, with OOM kills reported as OOMKilled. Not modelled: CPU limits, users (containers run
// as this process's user), image pulls.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { containerEngine, engineEnv, runFlags } from '../containers.ts';
import { memoryCgroups, removeAgentCgroup } from './cgroup.ts';
import { killPod, startContainer, type ContainerContext } from './container.ts';
import type { PodProcesses } from './faults.ts';
import { listeningAddresses } from '../net.ts';
import { HostsFile } from './hosts.ts';
import { KubeletLogServer, logFiles } from './logs.ts';
import { NodeRegistration } from './node.ts';
import { startProber } from './probes.ts';
import { provisionVolumes } from './provisioner.ts';
import { ServiceProxy } from './service-proxy.ts';
import { newRun, now, type AgentOptions, type Run } from './state.ts';
import { exitedForGood, reportStatus } from './status.ts';

export type { AgentOptions } from './state.ts';

const finished = (pod: k8s.V1Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

export class NodeAgent implements PodProcesses {
  readonly nodeName: string;
  private readonly core: k8s.CoreV1Api;
  private readonly node: NodeRegistration;
  private readonly proxy: ServiceProxy;
  private readonly hosts: HostsFile;
  private readonly kubelet: KubeletLogServer;
  private readonly ctx: ContainerContext;
  private readonly runs = new Map<string, Run>();
  private readonly opts: AgentOptions;
  private nextIp = 0;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly kc: k8s.KubeConfig;
  /** Set by a watch event or a probe's flip: the pod sync runs again at once. */
  private woken = false;
  private wakeSync: (() => void) | undefined;
  private watchReq: { abort(): void } | undefined;
  private readonly errors: string[] = [];
  /** Why memory limits are not enforced, or undefined when they are. */
  readonly limitsUnenforced: string | undefined;

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.nodeName = opts.nodeName ?? 'local-node';
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    this.kc = kc;
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.kubelet = new KubeletLogServer(opts.stateDir);
    this.node = new NodeRegistration(kc, this.nodeName, () => this.kubelet.port);
    this.proxy = new ServiceProxy(this.core, (err) => this.note(err));
    mkdirSync(opts.stateDir, { recursive: true });
    this.hosts = new HostsFile(join(opts.stateDir, 'hosts'), opts.clusterDomain);
    const mem = opts.memoryCgroupRoot === false ? { unavailable: 'turned off' } : memoryCgroups(opts.memoryCgroupRoot);
    this.limitsUnenforced = 'unavailable' in mem ? mem.unavailable : undefined;
    const memory = 'root' in mem ? { root: mem.root, agentId: `deis-etcd-agent-${process.pid}` } : undefined;
    let imageMode: ContainerContext['imageMode'];
    if (opts.images?.length) {
      const engine = containerEngine();
      if (!engine) throw new Error('container mode needs podman or docker: make container-runtime installs podman');
      imageMode = { engine, env: engineEnv(), runFlags: runFlags(), images: new Set(opts.images) };
    }
    this.ctx = { core: this.core, opts, hostsFile: this.hosts.path, memory, imageMode, removals: new Set() };
    // however this process ends, no pod process outlives it
    process.on('exit', () => {
      for (const run of this.runs.values()) {
        for (const c of run.containers.values()) {
          if (c.proc?.pid) {
            try {
              process.kill(-c.proc.pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
        }
      }
    });
  }

  /** Recent loop errors, for debugging a failing test. */
  recentErrors(): string[] {
    return this.errors.slice(-20);
  }

  private note(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.errors.push(`${now()} ${msg}`);
    if (this.errors.length > 200) this.errors.shift();
  }

  async start(): Promise<void> {
    await this.kubelet.start();
    await this.node.register();
    const loop = async (fn: () => Promise<void>, everyMs: number, wakeable = false) => {
      while (!this.stopped) {
        if (wakeable) this.woken = false;
        try {
          await fn();
        } catch (err) {
          this.note(err);
        }
        await new Promise<void>((r) => {
          const done = () => {
            clearTimeout(t);
            if (wakeable) this.wakeSync = undefined;
            r();
          };
          const t = setTimeout(done, everyMs);
          if (wakeable && this.woken) done();
          else if (wakeable) this.wakeSync = done;
        });
      }
    };
    this.loops = [
      loop(() => this.syncPods(), 300, true),
      this.watchPods(),
      loop(() => this.proxy.sync(), 500),
      loop(() => provisionVolumes(this.core, this.opts.stateDir), 500),
      loop(() => this.node.heartbeat(), 2000),
    ];
  }

  /** Runs the pod sync again at once (now, or right after the one under way). */
  private wake(): void {
    this.woken = true;
    this.wakeSync?.();
  }

  /** Watches the pods bound to this node, waking the sync on each event; rewatches after an end. */
  private async watchPods(): Promise<void> {
    const watch = new k8s.Watch(this.kc);
    while (!this.stopped) {
      await new Promise<void>((resolve) => {
        const opts = { fieldSelector: `spec.nodeName=${this.nodeName}` };
        watch
          .watch(
            '/api/v1/pods',
            opts,
            () => this.wake(),
            () => resolve(),
          )
          .then(
            (req) => {
              this.watchReq = req;
              if (this.stopped) req.abort();
            },
            (err) => {
              this.note(err);
              resolve();
            },
          );
      });
      if (!this.stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watchReq?.abort();
    this.wake();
    await Promise.all(this.loops);
    for (const run of this.runs.values()) await killPod(run, 2);
    await Promise.all(this.ctx.removals ?? []);
    for (const run of this.runs.values()) for (const c of run.containers.values()) c.cgroup?.remove();
    if (this.ctx.memory) removeAgentCgroup(this.ctx.memory.root, this.ctx.memory.agentId);
    this.proxy.close();
    this.kubelet.close();
  }

  // --- what tests read ------------------------------------------------------------------------------
  private find(ns: string, name: string): Run {
    const run = [...this.runs.values()].find((r) => r.ns === ns && r.name === name && !r.killing);
    if (!run) throw new Error(`pod ${ns}/${name} is not running on ${this.nodeName}`);
    return run;
  }

  processGroup(ns: string, pod: string, container?: string): number {
    const run = this.find(ns, pod);
    const c = container ? run.containers.get(container) : [...run.containers.values()][0];
    if (!c?.proc?.pid) throw new Error(`container of ${ns}/${pod} has no process`);
    return c.proc.pid;
  }

  /** The memory cgroup's numbers of a running pod's container (default: the first), when limits are enforced. */
  memoryUsage(ns: string, pod: string, container?: string): { limit: number; rss: number; peak: number } | undefined {
    const run = this.find(ns, pod);
    const c = container ? run.containers.get(container) : [...run.containers.values()][0];
    return c?.cgroup?.usage();
  }

  /** The address of a running pod. */
  podIp(ns: string, pod: string): string {
    return this.find(ns, pod).ip;
  }

  /**
   * Logs of a pod name's containers (or one container): stdout and stderr of every start, of every
   * incarnation of that pod name, oldest first (kept under <stateDir>/logs/<ns>/<pod>/, logs.ts).
   */
  async logs(ns: string, pod: string, container?: string): Promise<string> {
    return logFiles(this.opts.stateDir, ns, pod, container)
      .map(([, f]) => readFileSync(f, 'utf8'))
      .join('');
  }

  // --- pods -----------------------------------------------------------------------------------------
  /** The next address of the pod network that nothing listens on (another world may share the network). */
  private allocateIp(): string {
    const base = this.opts.podNet ?? 10;
    const taken = listeningAddresses();
    for (let tries = 0; ; tries++) {
      const n = this.nextIp++;
      const ip = `127.${base}.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
      if (!taken.has(ip) || tries >= 1000) return ip;
    }
  }

  private async syncPods(): Promise<void> {
    const pods = (await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.nodeName}` })).items;
    const seen = new Set<string>();
    for (const pod of pods) {
      const run = this.runs.get(pod.metadata!.uid!);
      if (run) run.pod = pod;
    }
    this.ensureRuns(pods);
    this.hosts.update(this.runs.values());
    for (const pod of pods) {
      const uid = pod.metadata!.uid!;
      seen.add(uid);
      const run = this.runs.get(uid);
      if (pod.metadata!.deletionTimestamp) {
        if (run && !run.killing) {
          run.killing = true;
          void killPod(run, pod.metadata!.deletionGracePeriodSeconds ?? 30).then(() => this.finishDeletion(run));
        } else if (!run) {
          await this.forceDelete(pod).catch((err) => this.note(err));
        }
        continue;
      }
      if (finished(pod) || !run) continue;
      run.pod = pod;
      if (!run.killing) await this.tend(run);
    }
    for (const [uid, run] of this.runs) {
      if (!seen.has(uid) && !run.killing) {
        // force-deleted behind our back
        run.killing = true;
        void killPod(run, 0).then(() => {
          this.runs.delete(uid);
          this.cleanup(run);
        });
      }
    }
  }

  /** A Run (address, state dir) for every new pod that should run, before any container starts. */
  private ensureRuns(pods: k8s.V1Pod[]): void {
    for (const pod of pods) {
      const uid = pod.metadata!.uid!;
      if (this.runs.has(uid) || pod.metadata!.deletionTimestamp || finished(pod)) continue;
      this.runs.set(uid, newRun(pod, this.allocateIp(), join(this.opts.stateDir, 'pods', uid)));
    }
  }

  /** Starts, restarts and probes a pod's containers, then reports its status if it changed. */
  private async tend(run: Run): Promise<void> {
    for (const c of run.containers.values()) {
      if (!c.proc && Date.now() >= c.backoffUntil) {
        if (exitedForGood(run, c)) continue;
        try {
          await startContainer(this.ctx, run, c);
          startProber(
            run.ip,
            c,
            c.proc!,
            () => this.wake(),
            () => this.stopped || run.killing,
          );
        } catch (err) {
          c.waitingReason = 'CreateContainerConfigError';
          c.backoffUntil = Date.now() + 1000;
          this.note(`${run.ns}/${run.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    await reportStatus(this.core, run);
  }

  private async finishDeletion(run: Run): Promise<void> {
    await this.forceDelete(run.pod).catch((err) => this.note(err));
    this.runs.delete(run.uid);
    this.cleanup(run);
  }

  private async forceDelete(pod: k8s.V1Pod): Promise<void> {
    const { name, namespace, uid } = pod.metadata!;
    try {
      // grace 0 goes in the body: the client drops a query parameter whose value is 0
      const body = { gracePeriodSeconds: 0, preconditions: { uid } };
      await this.core.deleteNamespacedPod({ name: name!, namespace: namespace!, body });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && (err.code === 404 || err.code === 409))) throw err;
    }
  }

  /** Removes a deleted pod's directory; its containers' logs stay (logs.ts). */
  private cleanup(run: Run): void {
    for (const c of run.containers.values()) c.cgroup?.remove();
    rmSync(run.dir, { recursive: true, force: true });
  }
}
