// A real Kubernetes control plane on loopback for e2e tests and `make up`: an etcd for the API server,
// kube-apiserver (RBAC + Node authorizers, service-account token signing, service range 127.100.0.0/16),
// kube-controller-manager and kube-scheduler, from the pinned binaries of build/tools. Certificates and
// an admin kubeconfig are generated into a temp dir; readiness is polled on /readyz; every process is
// torn down with the test process (procs.ts).
//
// One deviation from a real cluster, forced by the API server's validation: Endpoints and
// EndpointSlices may not hold loopback addresses, and our pods' IPs are loopback addresses. The
// endpoint controllers therefore cannot publish pod IPs; the node agent's service proxy resolves
// Services to ready pods itself (see node-agent/service-proxy.ts).
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd, waitHealthy } from './etcd.ts';
import { freePort } from './net.ts';
import { startProcess, tempDir, waitFor, type TestProcess } from './procs.ts';
import { kubeTool } from './tools.ts';

export const SERVICE_RANGE = '127.100.0.0/16';

export interface ControlPlane {
  dir: string;
  server: string;
  host: string;
  port: number;
  kubeconfig: string;
  caFile: string;
  procs: TestProcess[];
  stop(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** CA, API server serving cert, admin client cert (system:masters), service-account key pair. */
export function makeCerts(dir: string, host: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '7',
    '-subj',
    '/CN=deis-etcd-test-ca',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    `subjectAltName=IP:${host},IP:127.0.0.1,IP:127.100.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:localhost\n`,
  );
  const sign = (name: string, subj: string, ext?: string) => {
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subj,
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '7',
      ...(ext ? ['-extfile', ext] : []),
    ]);
  };
  sign('apiserver', '/CN=kube-apiserver', 'server.ext');
  sign('admin', '/CN=admin/O=system:masters');
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

export function kubeconfigText(server: string, dir: string, namespace = 'default'): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: { server: "${server}", certificate-authority: "${join(dir, 'ca.crt')}" }
users:
- name: admin
  user: { client-certificate: "${join(dir, 'admin.crt')}", client-key: "${join(dir, 'admin.key')}" }
contexts:
- name: local
  context: { cluster: local, user: admin, namespace: ${namespace} }
current-context: local
`;
}

export async function startControlPlane(opts: { dir?: string; host?: string } = {}): Promise<ControlPlane> {
  const dir = opts.dir ?? tempDir('deis-etcd-cp-');
  mkdirSync(dir, { recursive: true });
  const host = opts.host ?? '127.0.0.1';
  makeCerts(dir, host);
  const port = await freePort(host);
  const server = `https://${host}:${port}`;
  const kubeconfig = join(dir, 'admin.kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText(server, dir));
  const procs: TestProcess[] = [];
  const etcdPort = await freePort(host);
  const etcd = await startEtcd({
    name: 'apiserver-etcd',
    host,
    clientPort: etcdPort,
    dataDir: join(dir, 'etcd'),
    logDir: dir,
    args: [
      '--listen-peer-urls',
      `http://${host}:${await freePort(host)}`,
      '--quota-backend-bytes',
      String(2 * 2 ** 30),
    ],
  });
  procs.push(etcd.proc);
  await waitHealthy(etcd);
  const f = (n: string) => join(dir, n);
  procs.push(
    startProcess(
      'kube-apiserver',
      kubeTool('kube-apiserver'),
      [
        `--etcd-servers=${etcd.clientUrl}`,
        `--bind-address=${host}`,
        `--advertise-address=${host}`,
        `--secure-port=${port}`,
        `--tls-cert-file=${f('apiserver.crt')}`,
        `--tls-private-key-file=${f('apiserver.key')}`,
        `--client-ca-file=${f('ca.crt')}`,
        `--service-account-key-file=${f('sa.pub')}`,
        `--service-account-signing-key-file=${f('sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        '--authorization-mode=Node,RBAC',
        `--service-cluster-ip-range=${SERVICE_RANGE}`,
        '--allow-privileged=true',
        // the node agent's kubelet endpoint (kubectl logs) is on the Node's InternalIP; its Hostname
        // address names no host
        '--kubelet-preferred-address-types=InternalIP',
        '--v=1',
      ],
      { logDir: dir },
    ),
  );
  await waitFor(
    'kube-apiserver /readyz',
    async () => {
      if (!procs[1]!.running()) throw new Error(`kube-apiserver exited: ${procs[1]!.log().slice(-3000)}`);
      try {
        execFileSync(kubeTool('kubectl'), ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    },
    60_000,
    250,
  );
  // what the controller manager and the scheduler share: the admin kubeconfig, no leader election
  const componentFlags = async () => [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--leader-elect=false',
    `--bind-address=${host}`,
    `--secure-port=${await freePort(host)}`,
  ];
  procs.push(
    startProcess(
      'kube-controller-manager',
      kubeTool('kube-controller-manager'),
      [
        ...(await componentFlags()),
        `--service-account-private-key-file=${f('sa.key')}`,
        `--root-ca-file=${f('ca.crt')}`,
        '--use-service-account-credentials=false',
        '--controllers=deployment-controller,replicaset-controller,statefulset-controller,namespace-controller,garbage-collector-controller,disruption-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,persistentvolume-binder-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller,pod-garbage-collector-controller,job-controller,cronjob-controller,ttl-after-finished-controller',
        `--service-cluster-ip-range=${SERVICE_RANGE}`,
        '--v=1',
      ],
      { logDir: dir },
    ),
  );
  procs.push(
    startProcess('kube-scheduler', kubeTool('kube-scheduler'), [...(await componentFlags()), '--v=1'], { logDir: dir }),
  );
  return {
    dir,
    server,
    host,
    port,
    kubeconfig,
    caFile: f('ca.crt'),
    procs,
    async stop() {
      for (const p of [...procs].reverse()) await p.stop(5000);
    },
  };
}
