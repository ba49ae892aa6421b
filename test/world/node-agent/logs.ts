// Container logs that outlive their pods, and the kubelet's log endpoint that `kubectl logs` reaches
// through the API server. Every start of a container writes a file of its own,
//   <stateDir>/logs/<namespace>/<pod>/<container>.<n>.log
// numbered on from the highest n already there, across the incarnations of a pod name (a StatefulSet
// pod deleted and re-created): the newest file is the running container's log, the one before it is
// `--previous`, also when the previous container belonged to the deleted incarnation. Nothing is
// moved or removed when a pod goes.
//
// The endpoint is the kubelet's GET /containerLogs/<ns>/<pod>/<container>?previous=&tailLines=&
// limitBytes= over HTTPS (a self-signed certificate: the API server, started without
// --kubelet-certificate-authority, does not verify it) on the Node's address and the port the Node
// reports in status.daemonEndpoints.kubeletEndpoint. `follow` is not supported: the log so far is sent.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const logDir = (stateDir: string, ns: string, pod: string) => join(stateDir, 'logs', ns, pod);

/** A container's log files, oldest first: [n, path]. */
export function logFiles(stateDir: string, ns: string, pod: string, container?: string): [number, string][] {
  const dir = logDir(stateDir, ns, pod);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^(.+)\.(\d+)\.log$/.exec(f))
    .filter((m): m is RegExpExecArray => !!m && (!container || m[1] === container))
    .map((m): [number, string] => [Number(m[2]), join(dir, m[0])])
    .sort((a, b) => a[0] - b[0]);
}

/** The file for the next start of a container (its directory created). */
export function nextLogFile(stateDir: string, ns: string, pod: string, container: string): string {
  const last = logFiles(stateDir, ns, pod, container).at(-1)?.[0] ?? -1;
  mkdirSync(logDir(stateDir, ns, pod), { recursive: true });
  return join(logDir(stateDir, ns, pod), `${container}.${last + 1}.log`);
}

/** The text `kubectl logs [--previous]` shows; undefined when there is no such container run. */
export function containerLog(
  stateDir: string,
  ns: string,
  pod: string,
  container: string,
  opts: { previous?: boolean; tailLines?: number; limitBytes?: number } = {},
): string | undefined {
  const files = logFiles(stateDir, ns, pod, container);
  const file = files.at(opts.previous ? -2 : -1);
  if (!file) return undefined;
  let text = readFileSync(file[1], 'utf8');
  if (opts.tailLines !== undefined) {
    const lines = text.split('\n');
    const endsWithNewline = lines.at(-1) === '';
    if (endsWithNewline) lines.pop();
    text = lines.slice(Math.max(0, lines.length - opts.tailLines)).join('\n') + (endsWithNewline ? '\n' : '');
  }
  if (opts.limitBytes !== undefined) text = Buffer.from(text).subarray(0, opts.limitBytes).toString('utf8');
  return text;
}

/** The kubelet's log endpoint for this agent's pods; `port` is what the Node reports. */
export class KubeletLogServer {
  private server: Server | undefined;
  private readonly stateDir: string;
  private readonly host: string;
  port = 0;

  constructor(stateDir: string, host = '127.0.0.1') {
    this.stateDir = stateDir;
    this.host = host;
  }

  async start(): Promise<void> {
    const tls = join(this.stateDir, 'kubelet-tls');
    mkdirSync(tls, { recursive: true });
    if (!existsSync(join(tls, 'kubelet.crt'))) {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30']
          .concat(['-subj', '/CN=test-world-kubelet', '-addext', `subjectAltName=IP:${this.host}`])
          .concat(['-keyout', 'kubelet.key', '-out', 'kubelet.crt']),
        { cwd: tls, stdio: 'ignore' },
      );
    }
    this.server = createServer(
      { key: readFileSync(join(tls, 'kubelet.key')), cert: readFileSync(join(tls, 'kubelet.crt')) },
      (req, res) => {
        const url = new URL(req.url ?? '/', 'https://kubelet');
        const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
        if (req.method !== 'GET' || !m) {
          res.writeHead(404).end('not found\n');
          return;
        }
        const [, ns, pod, container] = m.map(decodeURIComponent) as [string, string, string, string];
        const int = (k: string) => (url.searchParams.has(k) ? Number(url.searchParams.get(k)) : undefined);
        const previous = url.searchParams.get('previous') === 'true';
        const text = containerLog(this.stateDir, ns, pod, container, {
          previous,
          tailLines: int('tailLines'),
          limitBytes: int('limitBytes'),
        });
        if (text === undefined) {
          const what = previous ? 'previous terminated container' : 'container';
          res
            .writeHead(400, { 'content-type': 'text/plain' })
            .end(`${what} "${container}" in pod "${pod}" not found\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
      },
    );
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ host: this.host, port: 0 }, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  close(): void {
    this.server?.close();
  }
}
