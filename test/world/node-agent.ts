// The test world's kubelet: registers a Node and runs the pods bound to it as local processes.
// - a pod gets its own loopback address (127.10.x.y) as status.podIP;
// - each container's command runs in its own mount namespace (unshare -m) where the pod's volumes are
//   bind-mounted at their mountPaths; image entrypoints (/bin/boot, /bin/discovery) map to programs
//   of this checkout through a table;
// - env is resolved as the kubelet does: values with $(VAR) expansion, fieldRef, secretKeyRef,
//   configMapKeyRef, envFrom, the namespace's <SERVICE>_SERVICE_HOST/_PORT variables, and
//   KUBERNETES_SERVICE_HOST/PORT pointing at the real API server;
// - volumes: secret, configMap, emptyDir, downwardAPI, projected (service-account token through the
//   TokenRequest API, kube-root-ca.crt, namespace), persistentVolumeClaim (a provisioner binds each
//   claim to a directory that outlives the pod), hostPath;
// - status: phase, podIP, container states, restart counts, Ready from the readiness probe (httpGet,
//   exec); restarts per restartPolicy with back-off (1 s doubling to 30 s: shorter than the kubelet's,
//   to keep tests quick); deletion: SIGTERM, the grace period, SIGKILL, then the object goes.
// - a userspace service proxy: connections to a ClusterIP:port reach a ready pod. It resolves Services
//   to pods itself, because the API server refuses loopback addresses in EndpointSlices.
// Not modelled: resource limits, users (containers run as this process's user), image pulls.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

export interface AgentOptions {
  kubeconfig: string;
  /** API server host and port, given to pods as KUBERNETES_SERVICE_HOST/PORT. */
  apiHost: string;
  apiPort: number;
  stateDir: string;
  nodeName?: string;
  /** image entrypoint -> argv prefix, e.g. '/bin/boot' -> [node, repo/cmd/boot/main.ts] */
  programs: Record<string, string[]>;
  /** prepended to PATH inside containers (e.g. the etcd binaries' directory) */
  extraPath?: string[];
  /** third octet range start for pod addresses: 127.<a>.<b>.<c> */
  podNet?: number;
  /** DNS domain of the pods' hosts-file names (default cluster.local) */
  clusterDomain?: string;
}

interface Run {
  uid: string;
  ns: string;
  name: string;
  ip: string;
  dir: string;
  pod: k8s.V1Pod;
  containers: Map<string, ContainerRun>;
  killing: boolean;
  deleted: boolean;
  startTime: string;
  statusKey: string;
}

interface ContainerRun {
  spec: k8s.V1Container;
  proc: ChildProcess | undefined;
  restarts: number;
  ready: boolean;
  startedAt: string | undefined;
  lastExit: { code: number; at: string } | undefined;
  backoffUntil: number;
  nextProbe: number;
  waitingReason: string | undefined;
}

const now = () => new Date().toISOString();
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class NodeAgent {
  readonly nodeName: string;
  private readonly kc = new k8s.KubeConfig();
  private readonly core: k8s.CoreV1Api;
  private readonly apps: k8s.AppsV1Api;
  private readonly coord: k8s.CoordinationV1Api;
  private readonly runs = new Map<string, Run>();
  private readonly listeners = new Map<string, Server>();
  private readonly opts: AgentOptions;
  private nextIp = 0;
  private readonly hostsFile: string;
  private hostsText = '';
  private stopped = false;
  private loops: Promise<void>[] = [];
  private lastLease = 0;
  private readonly errors: string[] = [];

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.nodeName = opts.nodeName ?? 'local-node';
    this.kc.loadFromFile(opts.kubeconfig);
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.apps = this.kc.makeApiClient(k8s.AppsV1Api);
    this.coord = this.kc.makeApiClient(k8s.CoordinationV1Api);
    mkdirSync(opts.stateDir, { recursive: true });
    this.hostsFile = join(opts.stateDir, 'hosts');
    writeFileSync(this.hostsFile, '127.0.0.1 localhost\n');
    // however this process ends, no pod process outlives it
    process.on('exit', () => {
      for (const run of this.runs.values()) {
        for (const c of run.containers.values()) if (c.proc?.pid) { try { process.kill(-c.proc.pid, 'SIGKILL'); } catch { /* gone */ } }
      }
    });
  }

  /** Recent loop errors, for debugging a failing test. */
  recentErrors(): string[] { return this.errors.slice(-20); }

  private note(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.errors.push(`${now()} ${msg}`);
    if (this.errors.length > 200) this.errors.shift();
  }

  async start(): Promise<void> {
    await this.registerNode();
    const loop = async (fn: () => Promise<void>, everyMs: number) => {
      while (!this.stopped) {
        try { await fn(); } catch (err) { this.note(err); }
        await new Promise((r) => setTimeout(r, everyMs));
      }
    };
    this.loops = [loop(() => this.syncPods(), 300), loop(() => this.syncServices(), 500), loop(() => this.provision(), 500), loop(() => this.heartbeat(), 2000)];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const run of this.runs.values()) await this.killPod(run, 2);
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }

  // --- node registration and heartbeat -------------------------------------------------------------
  private nodeStatus(): k8s.V1NodeStatus {
    const t = new Date();
    return {
      capacity: { cpu: '2', memory: '24Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '24Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test-world node agent', lastHeartbeatTime: t, lastTransitionTime: t }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: this.nodeName }],
      nodeInfo: { architecture: 'amd64', bootID: '', containerRuntimeVersion: 'deis-etcd-test://1', kernelVersion: '', kubeProxyVersion: '', kubeletVersion: 'v1.36.3', machineID: '', operatingSystem: 'linux', osImage: 'test world', systemUUID: '' },
    };
  }

  private async registerNode(): Promise<void> {
    try {
      await this.core.createNode({ body: { metadata: { name: this.nodeName, labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': 'local' } } } });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
    await this.heartbeat();
  }

  private async heartbeat(): Promise<void> {
    let node = await this.core.readNode({ name: this.nodeName });
    // the API server taints a new Node not-ready; the node lifecycle controller (not run here) would
    // lift it once the node reports Ready, so the agent does
    if (node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'))) {
      node.spec.taints = node.spec.taints.filter((t) => !t.key.startsWith('node.kubernetes.io/'));
      node = await this.core.replaceNode({ name: this.nodeName, body: node });
    }
    node.status = this.nodeStatus();
    await this.core.replaceNodeStatus({ name: this.nodeName, body: node });
    if (Date.now() - this.lastLease > 10_000) {
      this.lastLease = Date.now();
      const body = { metadata: { name: this.nodeName, namespace: 'kube-node-lease' }, spec: { holderIdentity: this.nodeName, leaseDurationSeconds: 40, renewTime: new k8s.V1MicroTime() } };
      try { await this.coord.replaceNamespacedLease({ name: this.nodeName, namespace: 'kube-node-lease', body }); } catch {
        try { await this.coord.createNamespacedLease({ namespace: 'kube-node-lease', body }); } catch { /* next time */ }
      }
    }
  }

  // --- pods ----------------------------------------------------------------------------------------
  private allocateIp(): string {
    const base = this.opts.podNet ?? 10;
    const n = this.nextIp++;
    return `127.${base}.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
  }

  /**
   * The test world's cluster DNS, as a hosts file bind-mounted at every container's /etc/hosts:
   * <hostname>.<subdomain>.<namespace>.svc.<domain> for pods with a hostname and subdomain (the
   * StatefulSet's pods under its headless Service), rewritten in place as pods come and go.
   */
  private writeHosts(): void {
    const domain = this.opts.clusterDomain ?? 'cluster.local';
    const lines = ['127.0.0.1 localhost'];
    for (const r of this.runs.values()) {
      const { hostname, subdomain } = r.pod.spec ?? {};
      if (r.killing || !hostname || !subdomain) continue;
      lines.push(`${r.ip} ${hostname}.${subdomain}.${r.ns}.svc.${domain} ${hostname}.${subdomain}.${r.ns}.svc ${hostname}.${subdomain}.${r.ns}`);
    }
    const text = lines.join('\n') + '\n';
    if (text !== this.hostsText) {
      writeFileSync(this.hostsFile, text); // in place: the bind mounts see the same inode
      this.hostsText = text;
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
    this.writeHosts();
    for (const pod of pods) {
      const uid = pod.metadata!.uid!;
      seen.add(uid);
      let run = this.runs.get(uid);
      if (pod.metadata!.deletionTimestamp) {
        if (run && !run.killing) {
          run.killing = true;
          void this.killPod(run, pod.metadata!.deletionGracePeriodSeconds ?? 30).then(() => this.finishDeletion(run!));
        } else if (!run) {
          await this.forceDelete(pod).catch((err) => this.note(err));
        }
        continue;
      }
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || !run) continue;
      run.pod = pod;
      if (!run.killing) await this.tend(run);
    }
    for (const [uid, run] of this.runs) {
      if (!seen.has(uid) && !run.killing) { // force-deleted behind our back
        run.killing = true;
        void this.killPod(run, 0).then(() => { this.runs.delete(uid); this.cleanup(run); });
      }
    }
  }

  /** A Run (address, state dir) for every new pod that should run, before any container starts. */
  private ensureRuns(pods: k8s.V1Pod[]): void {
    for (const pod of pods) {
      const uid = pod.metadata!.uid!;
      if (this.runs.has(uid) || pod.metadata!.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const run: Run = { uid, ns: pod.metadata!.namespace!, name: pod.metadata!.name!, ip: this.allocateIp(), dir: join(this.opts.stateDir, 'pods', uid), pod, containers: new Map(), killing: false, deleted: false, startTime: now(), statusKey: '' };
      for (const c of pod.spec!.containers) run.containers.set(c.name, { spec: c, proc: undefined, restarts: 0, ready: false, startedAt: undefined, lastExit: undefined, backoffUntil: 0, nextProbe: 0, waitingReason: 'ContainerCreating' });
      this.runs.set(uid, run);
    }
  }

  /** Starts, restarts and probes a pod's containers, then reports its status if it changed. */
  private async tend(run: Run): Promise<void> {
    for (const c of run.containers.values()) {
      if (!c.proc && Date.now() >= c.backoffUntil) {
        const policy = run.pod.spec!.restartPolicy ?? 'Always';
        if (c.lastExit && (policy === 'Never' || (policy === 'OnFailure' && c.lastExit.code === 0))) continue;
        try {
          await this.startContainer(run, c);
        } catch (err) {
          c.waitingReason = 'CreateContainerConfigError';
          c.backoffUntil = Date.now() + 1000;
          this.note(`${run.ns}/${run.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (c.proc && Date.now() >= c.nextProbe) {
        const probe = c.spec.readinessProbe;
        c.nextProbe = Date.now() + 1000 * Math.max(1, probe?.periodSeconds ?? 2);
        c.ready = probe ? await this.probe(run, c, probe) : true;
      }
    }
    await this.reportStatus(run);
  }

  private async probe(run: Run, c: ContainerRun, p: k8s.V1Probe): Promise<boolean> {
    const timeoutMs = 1000 * (p.timeoutSeconds ?? 1);
    if (p.httpGet) {
      const port = this.resolvePort(c.spec, p.httpGet.port);
      try {
        const res = await fetch(`http://${run.ip}:${port}${p.httpGet.path ?? '/'}`, { signal: AbortSignal.timeout(timeoutMs) });
        return res.status >= 200 && res.status < 400;
      } catch { return false; }
    }
    if (p.exec?.command) {
      const cmd = p.exec.command;
      return new Promise((resolve) => execFile(cmd[0]!, cmd.slice(1), { timeout: timeoutMs }, (err) => resolve(!err)));
    }
    if (p.tcpSocket) {
      const port = this.resolvePort(c.spec, p.tcpSocket.port);
      return new Promise((resolve) => {
        const s = createConnection({ host: run.ip, port }, () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
        s.setTimeout(timeoutMs, () => { s.destroy(); resolve(false); });
      });
    }
    return true;
  }

  private resolvePort(c: k8s.V1Container, port: number | string | k8s.IntOrString): number {
    if (typeof port === 'number') return port;
    const byName = c.ports?.find((p) => p.name === port);
    return byName ? byName.containerPort : Number(port);
  }

  private async startContainer(run: Run, c: ContainerRun): Promise<void> {
    const mounts = await this.volumes(run);
    const env = await this.env(run, c.spec);
    const argv = [...(c.spec.command ?? []), ...(c.spec.args ?? [])].map((a) => expand(a, env));
    if (!argv.length) throw new Error(`container ${c.spec.name} has no command (images are not run here)`);
    const mapped = this.opts.programs[argv[0]!];
    const cmd = mapped ? [...mapped, ...argv.slice(1)] : argv;
    const binds = (c.spec.volumeMounts ?? []).map((m) => {
      const src = mounts.get(m.name);
      if (!src) throw new Error(`volume ${m.name} of ${run.ns}/${run.name} is not ready`);
      return `mkdir -p ${sq(m.mountPath)} && mount --bind ${sq(m.subPath ? join(src, m.subPath) : src)} ${sq(m.mountPath)}${m.readOnly ? ` && mount -o remount,bind,ro ${sq(m.mountPath)}` : ''}`;
    });
    binds.push(`mount --bind ${sq(this.hostsFile)} /etc/hosts`);
    const script = [...binds, 'exec "$@"'].join(' && ');
    const logFile = join(run.dir, `${c.spec.name}.log`);
    mkdirSync(run.dir, { recursive: true });
    const { openSync } = await import('node:fs');
    const fd = openSync(logFile, 'a');
    const proc = spawn('unshare', ['-m', '--propagation', 'private', '/bin/sh', '-c', script, 'sh', ...cmd], {
      env, stdio: ['ignore', fd, fd], detached: true, cwd: c.spec.workingDir ?? '/',
    });
    c.proc = proc;
    c.startedAt = now();
    c.ready = false;
    c.waitingReason = undefined;
    c.nextProbe = Date.now() + 1000 * (c.spec.readinessProbe?.initialDelaySeconds ?? 0);
    proc.once('exit', (code, signal) => {
      c.proc = undefined;
      c.ready = false;
      c.lastExit = { code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), at: now() };
      if (!run.killing) {
        c.restarts++;
        c.backoffUntil = Date.now() + Math.min(30_000, 1000 * 2 ** Math.min(5, c.restarts - 1));
      }
    });
  }

  /** Materializes the pod's volumes (once) and returns name -> host directory. */
  private async volumes(run: Run): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const v of run.pod.spec!.volumes ?? []) {
      const dir = join(run.dir, 'volumes', v.name);
      if (v.persistentVolumeClaim) {
        const pvc = await this.core.readNamespacedPersistentVolumeClaim({ name: v.persistentVolumeClaim.claimName, namespace: run.ns });
        if (!pvc.spec?.volumeName) throw new Error(`claim ${v.persistentVolumeClaim.claimName} is not bound yet`);
        const pv = await this.core.readPersistentVolume({ name: pvc.spec.volumeName });
        out.set(v.name, pv.spec!.hostPath!.path);
        continue;
      }
      if (v.hostPath) { out.set(v.name, v.hostPath.path); continue; }
      mkdirSync(dir, { recursive: true });
      out.set(v.name, dir);
      if (v.emptyDir) continue;
      if (v.secret) await this.writeSecret(dir, run.ns, v.secret.secretName!, v.secret.items, !!v.secret.optional);
      if (v.configMap) await this.writeConfigMap(dir, run.ns, v.configMap.name!, v.configMap.items, !!v.configMap.optional);
      if (v.downwardAPI) for (const item of v.downwardAPI.items ?? []) writeFileSync(join(dir, item.path), fieldValue(run, item.fieldRef?.fieldPath ?? ''));
      for (const src of v.projected?.sources ?? []) {
        if (src.serviceAccountToken) {
          const sa = run.pod.spec!.serviceAccountName ?? 'default';
          const tr = await this.core.createNamespacedServiceAccountToken({ name: sa, namespace: run.ns, body: { spec: { audiences: src.serviceAccountToken.audience ? [src.serviceAccountToken.audience] : [], expirationSeconds: src.serviceAccountToken.expirationSeconds ?? 3607, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: run.name, uid: run.uid } } } });
          writeFileSync(join(dir, src.serviceAccountToken.path), tr.status?.token ?? "");
        }
        if (src.configMap) await this.writeConfigMap(dir, run.ns, src.configMap.name!, src.configMap.items, !!src.configMap.optional);
        if (src.secret) await this.writeSecret(dir, run.ns, src.secret.name!, src.secret.items, !!src.secret.optional);
        if (src.downwardAPI) for (const item of src.downwardAPI.items ?? []) writeFileSync(join(dir, item.path), fieldValue(run, item.fieldRef?.fieldPath ?? ''));
      }
    }
    return out;
  }

  private async writeSecret(dir: string, ns: string, name: string, items: k8s.V1KeyToPath[] | undefined, optional: boolean): Promise<void> {
    let data: Record<string, string> = {};
    try {
      data = Object.fromEntries(Object.entries((await this.core.readNamespacedSecret({ name, namespace: ns })).data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 404 && optional)) throw new Error(`secret ${ns}/${name} not found`);
    }
    writeItems(dir, data, items);
  }

  private async writeConfigMap(dir: string, ns: string, name: string, items: k8s.V1KeyToPath[] | undefined, optional: boolean): Promise<void> {
    let data: Record<string, string> = {};
    try {
      data = (await this.core.readNamespacedConfigMap({ name, namespace: ns })).data ?? {};
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 404 && optional)) throw new Error(`configmap ${ns}/${name} not found`);
    }
    writeItems(dir, data, items);
  }

  private async env(run: Run, c: k8s.V1Container): Promise<NodeJS.ProcessEnv> {
    const env: Record<string, string> = {
      PATH: [...(this.opts.extraPath ?? []), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
      HOME: '/root',
      HOSTNAME: run.name,
      KUBERNETES_SERVICE_HOST: this.opts.apiHost,
      KUBERNETES_SERVICE_PORT: String(this.opts.apiPort),
      KUBERNETES_SERVICE_PORT_HTTPS: String(this.opts.apiPort),
    };
    if (run.pod.spec!.enableServiceLinks !== false) {
      for (const svc of (await this.core.listNamespacedService({ namespace: run.ns })).items) {
        const ip = svc.spec?.clusterIP;
        if (!ip || ip === 'None' || svc.metadata!.name === 'kubernetes') continue;
        const prefix = svc.metadata!.name!.toUpperCase().replace(/-/g, '_');
        const first = svc.spec!.ports?.[0];
        if (!first) continue;
        env[`${prefix}_SERVICE_HOST`] = ip;
        env[`${prefix}_SERVICE_PORT`] = String(first.port);
        env[`${prefix}_PORT`] = `tcp://${ip}:${first.port}`;
        for (const p of svc.spec!.ports ?? []) {
          if (p.name) env[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
          const proto = (p.protocol ?? 'TCP').toUpperCase();
          env[`${prefix}_PORT_${p.port}_${proto}`] = `tcp://${ip}:${p.port}`;
          env[`${prefix}_PORT_${p.port}_${proto}_PROTO`] = proto.toLowerCase();
          env[`${prefix}_PORT_${p.port}_${proto}_PORT`] = String(p.port);
          env[`${prefix}_PORT_${p.port}_${proto}_ADDR`] = ip;
        }
      }
    }
    for (const from of c.envFrom ?? []) {
      const data = from.secretRef
        ? Object.fromEntries(Object.entries((await this.core.readNamespacedSecret({ name: from.secretRef.name!, namespace: run.ns })).data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
        : from.configMapRef ? (await this.core.readNamespacedConfigMap({ name: from.configMapRef.name!, namespace: run.ns })).data ?? {} : {};
      for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = expand(e.value, env);
      else if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(run, e.valueFrom.fieldRef.fieldPath);
      else if (e.valueFrom?.secretKeyRef) {
        const s = await this.core.readNamespacedSecret({ name: e.valueFrom.secretKeyRef.name!, namespace: run.ns });
        const v = s.data?.[e.valueFrom.secretKeyRef.key];
        if (v !== undefined) env[e.name] = Buffer.from(v, 'base64').toString('utf8');
        else if (!e.valueFrom.secretKeyRef.optional) throw new Error(`secret key ${e.valueFrom.secretKeyRef.key} missing`);
      } else if (e.valueFrom?.configMapKeyRef) {
        const cm = await this.core.readNamespacedConfigMap({ name: e.valueFrom.configMapKeyRef.name!, namespace: run.ns });
        const v = cm.data?.[e.valueFrom.configMapKeyRef.key];
        if (v !== undefined) env[e.name] = v;
        else if (!e.valueFrom.configMapKeyRef.optional) throw new Error(`configmap key ${e.valueFrom.configMapKeyRef.key} missing`);
      }
    }
    return env;
  }

  private async reportStatus(run: Run): Promise<void> {
    const cs: k8s.V1ContainerStatus[] = [...run.containers.values()].map((c) => ({
      name: c.spec.name, image: c.spec.image ?? '', imageID: '', ready: c.ready, restartCount: c.restarts, started: !!c.proc,
      state: c.proc ? { running: { startedAt: new Date(c.startedAt!) } }
        : c.lastExit && c.backoffUntil <= Date.now() && (run.pod.spec!.restartPolicy === 'Never') ? { terminated: { exitCode: c.lastExit.code, finishedAt: new Date(c.lastExit.at) } }
          : { waiting: { reason: c.lastExit ? 'CrashLoopBackOff' : (c.waitingReason ?? 'ContainerCreating') } },
      ...(c.lastExit ? { lastState: { terminated: { exitCode: c.lastExit.code, finishedAt: new Date(c.lastExit.at) } } } : {}),
    }));
    const allReady = cs.every((c) => c.ready);
    const anyRunning = cs.some((c) => c.state?.running);
    const phase = anyRunning || cs.some((c) => c.restartCount > 0) ? 'Running' : 'Pending';
    const cond = (type: string, ok: boolean): k8s.V1PodCondition => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: new Date() });
    const key = JSON.stringify([phase, run.ip, cs.map((c) => [c.ready, c.restartCount, Object.keys(c.state ?? {})[0], c.state?.waiting?.reason])]);
    if (key === run.statusKey) return;
    const pod = await this.core.readNamespacedPod({ name: run.name, namespace: run.ns });
    if (pod.metadata!.uid !== run.uid) return;
    pod.status = {
      ...pod.status, phase, hostIP: '127.0.0.1', hostIPs: [{ ip: '127.0.0.1' }], podIP: run.ip, podIPs: [{ ip: run.ip }], startTime: new Date(run.startTime),
      conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', allReady), cond('Ready', allReady)],
      containerStatuses: cs,
    };
    await this.core.replaceNamespacedPodStatus({ name: run.name, namespace: run.ns, body: pod });
    run.statusKey = key;
  }

  /** SIGTERM every container's process group, SIGKILL after graceS seconds; resolves once all are gone. */
  private async killPod(run: Run, graceS: number): Promise<void> {
    run.killing = true;
    const procs = [...run.containers.values()].map((c) => c.proc).filter((p): p is ChildProcess => !!p);
    const group = (p: ChildProcess, sig: NodeJS.Signals) => { try { process.kill(-p.pid!, sig); } catch { /* gone */ } };
    for (const p of procs) group(p, 'SIGTERM'); // a paused (SIGSTOP) process ignores it until SIGKILL, as under a real kubelet
    const timer = setTimeout(() => { for (const p of procs) group(p, 'SIGKILL'); }, graceS * 1000);
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)))));
    clearTimeout(timer);
    for (const p of procs) group(p, 'SIGKILL'); // anything the main process left behind
  }

  private async finishDeletion(run: Run): Promise<void> {
    await this.forceDelete(run.pod).catch((err) => this.note(err));
    this.runs.delete(run.uid);
    this.cleanup(run);
  }

  private async forceDelete(pod: k8s.V1Pod): Promise<void> {
    try {
      // grace 0 goes in the body: the client drops a query parameter whose value is 0
      await this.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } } });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && (err.code === 404 || err.code === 409))) throw err;
    }
  }

  private cleanup(run: Run): void {
    rmSync(run.dir, { recursive: true, force: true });
  }

  // --- persistent volumes --------------------------------------------------------------------------
  /** Binds every pending claim to a new hostPath volume under stateDir/pvs that survives the pod. */
  private async provision(): Promise<void> {
    const claims = (await this.core.listPersistentVolumeClaimForAllNamespaces()).items.filter((c) => c.status?.phase === 'Pending' && !c.spec?.volumeName);
    for (const c of claims) {
      const name = `pv-${c.metadata!.uid!.slice(0, 13)}`;
      const path = join(this.opts.stateDir, 'pvs', `${c.metadata!.namespace}-${c.metadata!.name}-${c.metadata!.uid!.slice(0, 8)}`);
      mkdirSync(path, { recursive: true });
      try {
        await this.core.createPersistentVolume({ body: {
          metadata: { name, labels: { 'deis-etcd.test/provisioner': 'node-agent' } },
          spec: {
            capacity: { storage: c.spec?.resources?.requests?.storage ?? '1Gi' }, accessModes: c.spec?.accessModes ?? ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Delete', hostPath: { path }, storageClassName: c.spec?.storageClassName ?? '',
            claimRef: { namespace: c.metadata!.namespace, name: c.metadata!.name, uid: c.metadata!.uid },
          },
        } });
      } catch (err) {
        if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
      }
    }
  }

  // --- service proxy -------------------------------------------------------------------------------
  private async syncServices(): Promise<void> {
    const services = (await this.core.listServiceForAllNamespaces()).items;
    const want = new Set<string>();
    for (const svc of services) {
      const ip = svc.spec?.clusterIP;
      if (!ip || ip === 'None' || !svc.spec?.selector) continue;
      for (const p of svc.spec.ports ?? []) {
        const key = `${ip}:${p.port}`;
        want.add(key);
        if (this.listeners.has(key)) continue;
        const ns = svc.metadata!.namespace!;
        const selector = Object.entries(svc.spec.selector).map(([k, v]) => `${k}=${v}`).join(',');
        const server = createServer((sock) => {
          void (async () => {
            const pods = (await this.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items
              .filter((pod) => pod.status?.podIP && !pod.metadata?.deletionTimestamp && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
            const pod = pods[Math.floor(Math.random() * pods.length)];
            if (!pod) { sock.destroy(); return; }
            const target = typeof p.targetPort === 'number' ? p.targetPort
              : p.targetPort ? (pod.spec!.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === p.targetPort)?.containerPort ?? p.port) : p.port;
            const up = createConnection({ host: pod.status!.podIP!, port: target });
            sock.pipe(up).pipe(sock);
            const end = () => { sock.destroy(); up.destroy(); };
            up.on('error', end);
            sock.on('error', end);
          })().catch(() => sock.destroy());
        });
        server.on('error', (err) => this.note(err));
        server.listen({ host: ip, port: p.port });
        this.listeners.set(key, server);
      }
    }
    for (const [key, server] of this.listeners) if (!want.has(key)) { server.close(); this.listeners.delete(key); }
  }

  // --- fault injection -----------------------------------------------------------------------------
  private find(ns: string, name: string): Run {
    const run = [...this.runs.values()].find((r) => r.ns === ns && r.name === name && !r.killing);
    if (!run) throw new Error(`pod ${ns}/${name} is not running on ${this.nodeName}`);
    return run;
  }

  /** Sends a signal to the process group of a pod's container (default: the first). */
  signal(ns: string, pod: string, sig: NodeJS.Signals, container?: string): void {
    const run = this.find(ns, pod);
    const c = container ? run.containers.get(container) : [...run.containers.values()][0];
    if (!c?.proc?.pid) throw new Error(`container of ${ns}/${pod} has no process`);
    process.kill(-c.proc.pid, sig);
  }

  /** The host directory behind a pod's volume, e.g. to check or destroy its data. */
  podIp(ns: string, pod: string): string { return this.find(ns, pod).ip; }

  /** Logs of a pod's container. */
  async logs(ns: string, pod: string, container?: string): Promise<string> {
    const run = [...this.runs.values()].find((r) => r.ns === ns && r.name === pod);
    if (!run) return '';
    const name = container ?? [...run.containers.keys()][0]!;
    const { readFileSync } = await import('node:fs');
    try { return readFileSync(join(run.dir, `${name}.log`), 'utf8'); } catch { return ''; }
  }

  async scaleStatefulSet(ns: string, name: string, replicas: number): Promise<void> {
    const sts = await this.apps.readNamespacedStatefulSet({ name, namespace: ns });
    sts.spec!.replicas = replicas;
    await this.apps.replaceNamespacedStatefulSet({ name, namespace: ns, body: sts });
  }

  async deletePod(ns: string, name: string): Promise<void> {
    await this.core.deleteNamespacedPod({ name, namespace: ns });
  }

  /** Deletes the pod's PersistentVolumeClaims (their volumes go with them) and then the pod. */
  async deletePodAndVolumes(ns: string, name: string): Promise<void> {
    const pod = await this.core.readNamespacedPod({ name, namespace: ns });
    for (const v of pod.spec?.volumes ?? []) {
      if (!v.persistentVolumeClaim) continue;
      const pvc = await this.core.readNamespacedPersistentVolumeClaim({ name: v.persistentVolumeClaim.claimName, namespace: ns });
      if (pvc.spec?.volumeName) {
        const pv = await this.core.readPersistentVolume({ name: pvc.spec.volumeName });
        if (pv.spec?.hostPath?.path) rmSync(pv.spec.hostPath.path, { recursive: true, force: true });
      }
      await this.core.deleteNamespacedPersistentVolumeClaim({ name: v.persistentVolumeClaim.claimName, namespace: ns });
    }
    await this.deletePod(ns, name);
  }
}

function writeItems(dir: string, data: Record<string, string>, items: k8s.V1KeyToPath[] | undefined): void {
  const entries = items ? items.filter((i) => data[i.key] !== undefined).map((i) => [i.path, data[i.key]!] as const) : Object.entries(data);
  for (const [path, value] of entries) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), value);
  }
}

function fieldValue(run: Run, path: string): string {
  const m = run.pod.metadata!;
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return m.labels?.[label[1]!] ?? '';
  const ann = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (ann) return m.annotations?.[ann[1]!] ?? '';
  switch (path) {
    case 'metadata.name': return m.name!;
    case 'metadata.namespace': return m.namespace!;
    case 'metadata.uid': return m.uid!;
    case 'spec.nodeName': return run.pod.spec!.nodeName ?? '';
    case 'spec.serviceAccountName': return run.pod.spec!.serviceAccountName ?? '';
    case 'status.podIP': return run.ip;
    case 'status.hostIP': return '127.0.0.1';
    default: return '';
  }
}

/** $(VAR) expansion as the kubelet does it; $$ escapes. */
export function expand(s: string, env: Record<string, string | undefined>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string | undefined) => (all === '$$' ? '$' : (env[name!] ?? all)));
}
