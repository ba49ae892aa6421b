// Readiness probes as the kubelet runs them against a pod's address: httpGet (2xx/3xx is ready),
// exec (exit 0; run here on the host, not in the container's mount namespace) and tcpSocket, each
// bounded by timeoutSeconds. A container without a probe is ready once it runs (agent.ts).
// Each started container gets its own prober, as the kubelet's probe worker: the first probe after
// initialDelaySeconds from the container's start, then one each periodSeconds (default 2 s here,
// 10 s in Kubernetes; at least 1 s) on a fixed tick, whatever the agent's sync loop is doing.
import { execFile, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import type * as k8s from '@kubernetes/client-node';
import type { ContainerRun } from './state.ts';

/**
 * Probes container `c` (its process `proc`) of the pod at `ip` until that process is gone or
 * `stopped()`; sets c.ready and calls `changed` when readiness flips (the agent then reports status).
 */
export function startProber(
  ip: string,
  c: ContainerRun,
  proc: ChildProcess,
  changed: () => void,
  stopped: () => boolean,
): void {
  const p = c.spec.readinessProbe;
  if (!p) {
    c.ready = true;
    changed();
    return;
  }
  const periodMs = 1000 * Math.max(1, p.periodSeconds ?? 2);
  const first = Date.now() + 1000 * (p.initialDelaySeconds ?? 0);
  const tick = async (due: number) => {
    if (c.proc !== proc || stopped()) return;
    const ready = await probe(ip, c.spec, p);
    if (c.proc !== proc || stopped()) return;
    if (ready !== c.ready) {
      c.ready = ready;
      changed();
    }
    // the next tick of a fixed period from the first probe; a slow probe skips the ticks it overran
    const next = due + periodMs * Math.max(1, Math.ceil((Date.now() - due) / periodMs));
    setTimeout(() => void tick(next), next - Date.now()).unref();
  };
  setTimeout(() => void tick(first), first - Date.now()).unref();
}

/** One probe of container `c` of the pod at `ip`: true when it passes. */
export async function probe(ip: string, c: k8s.V1Container, p: k8s.V1Probe): Promise<boolean> {
  const timeoutMs = 1000 * (p.timeoutSeconds ?? 1);
  if (p.httpGet) {
    const port = resolvePort(c, p.httpGet.port);
    try {
      const url = `http://${ip}:${port}${p.httpGet.path ?? '/'}`;
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }
  if (p.exec?.command) {
    const cmd = p.exec.command;
    return new Promise((resolve) => execFile(cmd[0]!, cmd.slice(1), { timeout: timeoutMs }, (err) => resolve(!err)));
  }
  if (p.tcpSocket) {
    const port = resolvePort(c, p.tcpSocket.port);
    return new Promise((resolve) => {
      const s = createConnection({ host: ip, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
      s.setTimeout(timeoutMs, () => {
        s.destroy();
        resolve(false);
      });
    });
  }
  return true;
}

/** A probe's port: a number, or the name of one of the container's ports. */
function resolvePort(c: k8s.V1Container, port: number | string | k8s.IntOrString): number {
  if (typeof port === 'number') return port;
  const byName = c.ports?.find((p) => p.name === port);
  return byName ? byName.containerPort : Number(port);
}
