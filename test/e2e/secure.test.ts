// The local-secure overlay (the local overlay with the TLS component) on the test world: discovery
// makes the CA and client Secrets, three members bootstrap through the https discovery service with
// https client and peer URLs; a plaintext client and one with a certificate from another CA fail, the
// client Secret's certificate works (through the deis-etcd Service too), and a deleted member pod's
// replacement heals the cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { join } from 'node:path';
import { createCa, issueLeaf } from '../../internal/tls/x509.ts';
import { members, type ClientTls, type Members } from '../helpers/members.ts';
import { waitFor, within } from '../world/procs.ts';
import { repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
let world: TestWorld;
let m: Members;
let tls: ClientTls;

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
  m = members(world, ns, tls);
});
test.after(async () => {
  await world?.stop();
});

test('local-secure: the CA Secret, 3 Ready members over https, one cluster; a client with deis-etcd-client-tls works', async () => {
  const ca = await world.core.readNamespacedSecret({ name: 'deis-etcd-ca', namespace: ns });
  assert.is(ca.type, 'kubernetes.io/tls');
  assert.equal(Object.keys(ca.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  assert.is(decode(ca.data?.['tls.crt']), tls.ca, 'the client Secret trusts the CA Secret');
  await m.converged(3, { timeoutMs: 240_000 });
  await m.withClient((c) => c.put('secure/key').value('over-tls').exec());
  assert.is(await m.get('secure/key'), 'over-tls');
  // through the deis-etcd Service (its ClusterIP is in the members' certificates)
  const svc = await world.core.readNamespacedService({ name: 'deis-etcd', namespace: ns });
  const c = new Etcd3({
    hosts: `https://${svc.spec!.clusterIP}:2379`,
    credentials: {
      rootCertificate: Buffer.from(tls.ca),
      certChain: Buffer.from(tls.cert),
      privateKey: Buffer.from(tls.key),
    },
    dialTimeout: 2000,
  });
  try {
    assert.is(await within(10_000, 'get through the Service', c.get('secure/key').string()), 'over-tls');
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

test.run();
