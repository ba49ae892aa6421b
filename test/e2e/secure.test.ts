// The local-secure overlay (the local overlay with the TLS and auth components) on the test world:
// discovery makes the CA, client and password Secrets, three members bootstrap through the https
// discovery service with https client and peer URLs; a plaintext client and one with a certificate
// from another CA fail, the client Secret's certificate with user root works (through the deis-etcd
// Service too), a client without a user cannot write and the application user only under its prefix;
// then every operator scenario on the secure cluster in one world: a deleted pod's replacement, a
// killed member's restart, scale 3 -> 5 -> 3, a replacement while discovery is down, deis-etcd status
// over TLS with root's token, the client Secret renewed by discovery, and a rebuild (the StatefulSet
// deleted and re-applied) that turns authentication on again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { certInfo, createCa, issueLeaf } from '../../internal/tls/x509.ts';
import { CLIENT_SUBJECT } from '../../internal/tls/secrets.ts';
import { members, retryStaleToken, type ClientTls, type Members } from '../helpers/members.ts';
import { killAndRejoin, scaleUpAndDown } from '../helpers/scenarios.ts';
import { tempDir, waitFor, within } from '../world/procs.ts';
import { nodeBin } from '../world/programs.ts';
import { isReady, repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
let world: TestWorld;
let m: Members;
let tls: ClientTls;
let root: { username: string; password: string };
let app: { username: string; password: string };

const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');

/** Whether a read through client c fails (within a bound): what a refused client sees. */
async function readFails(c: Etcd3): Promise<boolean> {
  try {
    await within(10_000, 'read', c.get('secure/key').string());
    return false;
  } catch {
    return true;
  } finally {
    c.close();
  }
}

test.before(async () => {
  world = await startTestWorld();
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local-secure')]);
  const secret = await waitFor(
    'discovery to create deis-etcd-client-tls',
    () => world.core.readNamespacedSecret({ name: 'deis-etcd-client-tls', namespace: ns }).catch(() => undefined),
    120_000,
    500,
  );
  tls = {
    ca: decode(secret.data?.['ca.crt']),
    cert: decode(secret.data?.['tls.crt']),
    key: decode(secret.data?.['tls.key']),
  };
  const password = async (name: string) =>
    decode(
      (
        await waitFor(
          `discovery to create ${name}`,
          () => world.core.readNamespacedSecret({ name, namespace: ns }).catch(() => undefined),
          60_000,
          500,
        )
      ).data?.password,
    );
  root = { username: 'root', password: await password('deis-etcd-root') };
  app = { username: 'app', password: await password('deis-etcd-app') };
  m = members(world, ns, tls, root);
});

const credentials = () => ({
  rootCertificate: Buffer.from(tls.ca),
  certChain: Buffer.from(tls.cert),
  privateKey: Buffer.from(tls.key),
});
/** A put through the members as `auth` (none: the certificate alone): 'ok' or the error's text. */
async function put(auth: { username: string; password: string } | undefined, key: string): Promise<string> {
  const hosts = (await m.pods()).filter(isReady).map((p) => `https://${p.status!.podIP}:2379`);
  const c = new Etcd3({ hosts, credentials: credentials(), dialTimeout: 2000, ...(auth ? { auth } : {}) });
  try {
    await within(
      10_000,
      `put ${key}`,
      retryStaleToken(c, (c) => c.put(key).value('v').exec()),
    );
    return 'ok';
  } catch (err) {
    return String(err);
  } finally {
    c.close();
  }
}

/** Waits until the application user's put of `key` works; a timeout says why and what the members logged. */
async function appUserWrites(key: string): Promise<void> {
  let last = '';
  await waitFor(
    'the application user',
    async () => {
      last = await put(app, key);
      return last === 'ok';
    },
    60_000,
    1000,
  ).catch(async (err: unknown) => {
    const lines = (await Promise.all((await m.pods()).map(async (p) => (await m.logs(p.metadata!.name!)).split('\n'))))
      .flat()
      .filter((l) => /authenticat|application user|permission|user name|heal/.test(l))
      .slice(-15)
      .map((l) => l.slice(0, 600));
    throw new Error(`${String(err)}; last put: ${last}\n${lines.join('\n')}`);
  });
}

const discoveryPods = async () =>
  (await world.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=discovery' })).items;

/** `deis-etcd status -n deis-etcd` from this host with the world's kubeconfig; bounded to 60 s. */
function runStatus(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      nodeBin,
      [join(repoRoot, 'cmd/deis-etcd/main.ts'), 'status', '-n', ns],
      {
        env: { PATH: process.env.PATH, KUBECONFIG: world.kubeconfig, HOME: tempDir('deis-etcd-home-') },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

test.after(async () => {
  await world?.stop();
});

test('local-secure: the CA Secret, 3 Ready members over https, one cluster; a client with deis-etcd-client-tls works', async () => {
  const ca = await world.core.readNamespacedSecret({ name: 'deis-etcd-ca', namespace: ns });
  assert.is(ca.type, 'kubernetes.io/tls');
  assert.equal(Object.keys(ca.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  assert.is(decode(ca.data?.['tls.crt']), tls.ca, 'the client Secret trusts the CA Secret');
  await m.converged(3, { timeoutMs: 240_000 });
  await m
    .withClient((c) => c.put('secure/key').value('over-tls').exec())
    .catch(async (err: unknown) => {
      // what the members said about authentication, for the failure message
      const lines = (
        await Promise.all((await m.pods()).map(async (p) => (await m.logs(p.metadata!.name!)).split('\n')))
      )
        .flat()
        .filter(
          (l) => (/authenticat|application user/.test(l) && !l.includes('"msg":"etcd"')) || /permission denied/.test(l),
        )
        .slice(-8)
        .map((l) => l.slice(0, 500));
      throw new Error(`${String(err)}\n${lines.join('\n')}`);
    });
  assert.is(await m.get('secure/key'), 'over-tls');
  // through the deis-etcd Service (its ClusterIP is in the members' certificates), as root: without a
  // user etcd takes the certificate's common name (deis-etcd-client), which is no etcd user
  const svc = await world.core.readNamespacedService({ name: 'deis-etcd', namespace: ns });
  const c = new Etcd3({
    hosts: `https://${svc.spec!.clusterIP}:2379`,
    credentials: credentials(),
    auth: root,
    dialTimeout: 2000,
  });
  try {
    const got = retryStaleToken(c, (c) => c.get('secure/key').string());
    assert.is(await within(10_000, 'get through the Service', got), 'over-tls');
  } finally {
    c.close();
  }
});

test('a plaintext client and a client with a certificate from another CA are refused', async () => {
  const ips = (await m.pods()).map((p) => p.status!.podIP!);
  assert.ok(
    await readFails(new Etcd3({ hosts: ips.map((ip) => `http://${ip}:2379`), dialTimeout: 2000 })),
    'plaintext',
  );
  const other = await createCa('another-ca', 86_400_000);
  const leaf = await issueLeaf(other, {
    commonName: 'intruder',
    dnsNames: [],
    ipAddresses: [],
    lifetimeMs: 86_400_000,
  });
  const foreign = new Etcd3({
    hosts: ips.map((ip) => `https://${ip}:2379`),
    credentials: {
      rootCertificate: Buffer.from(tls.ca),
      certChain: Buffer.from(leaf.cert),
      privateKey: Buffer.from(leaf.key),
    },
    dialTimeout: 2000,
  });
  assert.ok(await readFails(foreign), 'another CA');
});

test('auth: without a user a write fails; the application user writes under /app/ only', async () => {
  // the leader enables authentication on its first heal pass: wait until a write without a user fails
  await waitFor('authentication on', async () => (await put(undefined, 'secure/anon')) !== 'ok', 60_000, 1000);
  assert.match(await put(undefined, 'secure/anon'), /permission denied|user name/);
  await appUserWrites('/app/x');
  assert.match(await put(app, 'secure/outside'), /permission denied/);
  assert.is(await put(root, 'secure/root'), 'ok');
});

test('production (with the TLS and auth components) passes kubectl apply --dry-run=server', async () => {
  await world.kubectl(['create', 'namespace', 'dry-production']);
  const out = await world.kubectl([
    'apply',
    '--dry-run=server',
    '-n',
    'dry-production',
    '-k',
    join(repoRoot, 'kustomize/overlays/production'),
  ]);
  assert.match(out, /statefulset.apps\/deis-etcd (created|configured|unchanged) \(server dry run\)/);
  assert.match(out, /configmap\/deis-etcd-app (created|configured|unchanged) \(server dry run\)/);
});

test('delete a member pod: its replacement issues its own certificate and rejoins over TLS, data intact', async () => {
  const old = (await m.pods()).find((p) => p.metadata!.name === 'deis-etcd-1');
  assert.ok(old, 'deis-etcd-1 runs');
  await world.faults.deletePod(ns, 'deis-etcd-1');
  await waitFor(
    'deis-etcd-1 replaced by a new pod',
    async () =>
      (await m.pods()).some((p) => p.metadata!.name === 'deis-etcd-1' && p.metadata!.uid !== old.metadata!.uid),
    60_000,
    250,
  );
  await m.converged(3);
  assert.is(await m.get('secure/key'), 'over-tls');
  const issued = (await m.entries('deis-etcd-1')).filter((e) => e.msg === 'certificate issued');
  assert.ok(issued.length >= 1, 'the new pod logged its certificate');
});

const kept = { key: 'secure/key', value: 'over-tls' };

test("SIGKILL a member's processes: restarted by the node agent, it rejoins from its data over TLS", async () => {
  await killAndRejoin(world, m, ns, 'deis-etcd-2', kept);
});

test('scale 3 -> 5 -> 3: new members join over TLS as root, data intact', async () => {
  await scaleUpAndDown(world, m, ns, kept);
});

test('a replacement started while the https discovery service is down completes; no duplicate members', async () => {
  await world.kubectl(['scale', 'deployment', 'deis-etcd-discovery', '-n', ns, '--replicas=0']);
  await waitFor('discovery gone', async () => (await discoveryPods()).length === 0, 60_000, 250);
  await world.faults.deletePod(ns, 'deis-etcd-1');
  await m.converged(3);
  await world.kubectl(['scale', 'deployment', 'deis-etcd-discovery', '-n', ns, '--replicas=1']);
  await waitFor('discovery back', async () => (await discoveryPods()).some(isReady), 120_000, 500);
  assert.is(await m.get('secure/key'), 'over-tls');
});

test('deis-etcd status speaks TLS and auth: exit 0, three members with a leader', async () => {
  let last = '';
  await waitFor(
    'status exit 0',
    async () => {
      const r = await runStatus();
      last = `exit ${r.code}\n${r.stdout}${r.stderr}`;
      return r.code === 0 ? r : undefined;
    },
    60_000,
    1000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; last: ${last}`);
  });
  const rows = last.split('\n').filter((l) => /^deis-etcd-\d/.test(l));
  assert.is(rows.length, 3, last);
  assert.ok(
    rows.some((l) => /leader/.test(l)),
    last,
  );
});

test('the client Secret near its expiry: discovery issues it again (new serial, full lifetime), the new one works', async () => {
  const caSecret = await world.core.readNamespacedSecret({ name: 'deis-etcd-ca', namespace: ns });
  const ca = { cert: decode(caSecret.data?.['tls.crt']), key: decode(caSecret.data?.['tls.key']) };
  // issued 3 h ago for 4 h: 1 h left, within the 24 h renew-before rule and past half its life
  const soon = await issueLeaf(ca, {
    commonName: 'deis-etcd-client',
    subject: CLIENT_SUBJECT,
    dnsNames: [],
    ipAddresses: [],
    lifetimeMs: 4 * 3_600_000,
    now: Date.now() - 3 * 3_600_000,
  });
  const soonSerial = certInfo(soon.cert).serial;
  await world.core.replaceNamespacedSecret({
    name: 'deis-etcd-client-tls',
    namespace: ns,
    body: {
      metadata: { name: 'deis-etcd-client-tls' },
      type: 'kubernetes.io/tls',
      stringData: { 'ca.crt': ca.cert, 'tls.crt': soon.cert, 'tls.key': soon.key },
    },
  });
  // a discovery start looks at it at once (a running one looks hourly)
  for (const p of await discoveryPods()) await world.faults.deletePod(ns, p.metadata!.name!);
  const renewed = await waitFor(
    'discovery to renew deis-etcd-client-tls',
    async () => {
      const s = await world.core.readNamespacedSecret({ name: 'deis-etcd-client-tls', namespace: ns });
      const cert = decode(s.data?.['tls.crt']);
      return certInfo(cert).serial !== soonSerial ? { cert, key: decode(s.data?.['tls.key']) } : undefined;
    },
    120_000,
    500,
  );
  assert.ok(certInfo(renewed.cert).notAfter > Date.now() + 300 * 86_400_000, 'a full lifetime (365 d)');
  tls = { ...tls, ...renewed };
  m = members(world, ns, tls, root);
  assert.is(await m.get('secure/key'), 'over-tls', 'the renewed certificate works');
});

test('rebuild: the StatefulSet deleted (no volumes) and re-applied forms a new cluster with authentication on again', async () => {
  const before = await m.converged(3);
  await world.kubectl(['delete', 'statefulset', 'deis-etcd', '-n', ns, '--wait=true', '--timeout=120s']);
  await m.gone();
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local-secure')]);
  const after = await m.converged(3, { timeoutMs: 180_000 });
  assert.is.not(after, before, 'a new cluster ID');
  assert.is(await m.get('secure/key'), null, 'an empty new cluster (no volumes)');
  await waitFor('authentication on', async () => (await put(undefined, 'secure/anon')) !== 'ok', 60_000, 1000);
  await appUserWrites('/app/again');
  assert.is(await put(root, 'secure/root'), 'ok');
});

test.run();
