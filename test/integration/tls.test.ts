// boot with --tls against real etcd 3.6 and our discovery program (also --tls), without Kubernetes:
// three members bootstrap through the https discovery service with https client and peer URLs and
// client certificates required; a client with a
// certificate from the CA works, a plaintext one and one from another CA fail; and with a one-minute
// lifetime each member renews its certificate while etcd keeps running: a new TLS client sees a new
// serial, etcd's process ID stays the same, and a client writing all along sees no error. A member
// replaced with an empty data dir joins over TLS.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { createCa, issueLeaf, type KeyPair } from '../../internal/tls/x509.ts';
import { startBoot, startDiscovery, waitReady, type BootProcess, type DiscoveryProcess } from '../world/programs.ts';
import { tempDir, waitFor, within } from '../world/procs.ts';
import { freeAddress } from '../world/net.ts';

const DAY = 86_400_000;
const logDir = tempDir();
let disc: DiscoveryProcess;
const boots: BootProcess[] = [];
let ca: KeyPair;
let client: KeyPair;

const httpsUrl = (b: BootProcess) => `https://${b.host}:2379`;
const creds = (pair: KeyPair, trust = ca) => ({
  rootCertificate: Buffer.from(trust.cert),
  certChain: Buffer.from(pair.cert),
  privateKey: Buffer.from(pair.key),
});

/** The serial of the certificate a member presents to a new TLS connection. */
function servedSerial(b: BootProcess): Promise<string> {
  return within(
    5000,
    'TLS handshake',
    new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: b.host, port: 2379, ca: ca.cert, ...client, servername: 'localhost' }, () => {
        resolve(s.getPeerCertificate().serialNumber.toLowerCase());
        s.destroy();
      });
      s.on('error', reject);
    }),
  );
}

/** The PID of the etcd whose --data-dir is dir (from /proc). */
function etcdPid(dir: string): number | undefined {
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('/etcd') && args.includes(dir)) return Number(p);
    } catch {
      /* gone meanwhile */
    }
  }
  return undefined;
}

let caDir = '';
const secureEnv = () => ({
  DEIS_ETCD_TLS: 'true',
  DEIS_ETCD_DISCOVERY_ENDPOINT: `https://${disc.host}:2381`,
  DEIS_ETCD_TLS_CA_DIR: caDir,
  DEIS_ETCD_TLS_DIR: join(tempDir(), 'tls'),
  // renewed every 30 s: the rotation test sees two renewals within its time
  DEIS_ETCD_CERT_LIFETIME: '60s',
  DEIS_ETCD_CERT_RENEW_BEFORE: '30s',
});

test.before(async () => {
  ca = await createCa('deis-etcd-test-ca', DAY);
  client = await issueLeaf(ca, { commonName: 'client', dnsNames: [], ipAddresses: [], lifetimeMs: DAY });
  caDir = tempDir();
  writeFileSync(join(caDir, 'tls.crt'), ca.cert);
  writeFileSync(join(caDir, 'tls.key'), ca.key, { mode: 0o600 });
  // the discovery etcd serves TLS too, with its certificate from the same CA
  disc = await startDiscovery({
    size: 3,
    logDir,
    extraEnv: { DEIS_ETCD_TLS: 'true', DEIS_ETCD_TLS_CA_DIR: caDir, DEIS_ETCD_TLS_DIR: join(tempDir(), 'tls') },
  });
  for (const name of ['etcd-0', 'etcd-1', 'etcd-2']) {
    boots.push(
      await startBoot({
        name,
        discovery: disc,
        logDir,
        env: secureEnv(),
      }),
    );
  }
  await Promise.all(boots.map((b) => waitReady(b)));
});
test.after(async () => {
  await Promise.all(boots.map((b) => b.proc.stop()));
  await disc?.proc.stop();
});

test('three members serve https with client certificates required; peers speak TLS', async () => {
  const c = new Etcd3({ hosts: boots.map(httpsUrl), credentials: creds(client), dialTimeout: 2000 });
  try {
    const { members } = await within(5000, 'member list', c.cluster.memberList({ linearizable: true }));
    assert.equal(members.map((m) => m.peerURLs[0]?.slice(0, 8)).sort(), ['https://', 'https://', 'https://']);
    assert.equal(members.map((m) => m.clientURLs[0]?.slice(0, 8)).sort(), ['https://', 'https://', 'https://']);
    await within(5000, 'put', c.put('tls/hello').value('world').exec());
    assert.is(await within(5000, 'get', c.get('tls/hello').string()), 'world');
  } finally {
    c.close();
  }
});

test('the discovery etcd requires a client certificate too', async () => {
  const plain = new Etcd3({ hosts: [`http://${disc.host}:2381`], dialTimeout: 2000 });
  const good = new Etcd3({ hosts: [`https://${disc.host}:2381`], credentials: creds(client), dialTimeout: 2000 });
  try {
    const refused = await within(10_000, 'plaintext', plain.get('x').string()).then(
      () => false,
      () => true,
    );
    assert.ok(refused, 'a plaintext read from discovery fails');
    const members = await within(5000, 'registry', good.getAll().prefix('/_etcd/registry/').keys());
    assert.is(members.filter((k) => k.includes('/members/')).length, 3);
  } finally {
    plain.close();
    good.close();
  }
});

test('a plaintext client and a client with a certificate from another CA are refused', async () => {
  const plain = new Etcd3({ hosts: boots.map((b) => `http://${b.host}:2379`), dialTimeout: 2000 });
  const other = await createCa('other-ca', DAY);
  const foreignLeaf = await issueLeaf(other, { commonName: 'x', dnsNames: [], ipAddresses: [], lifetimeMs: DAY });
  const foreign = new Etcd3({ hosts: boots.map(httpsUrl), credentials: creds(foreignLeaf), dialTimeout: 2000 });
  const noCert = new Etcd3({
    hosts: boots.map(httpsUrl),
    credentials: { rootCertificate: Buffer.from(ca.cert) },
    dialTimeout: 2000,
  });
  try {
    for (const [what, c] of [
      ['plaintext', plain],
      ['another CA', foreign],
      ['no client certificate', noCert],
    ] as const) {
      const err = await within(10_000, what, c.get('tls/hello').string()).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof Error, `${what}: the read must fail`);
    }
  } finally {
    plain.close();
    foreign.close();
    noCert.close();
  }
});

test('kill -9 a member and replace it with an empty data dir at a new IP: it joins over TLS', async () => {
  const victim = boots[2]!;
  victim.proc.kill('SIGKILL');
  await victim.proc.exited;
  boots[2] = await startBoot({
    name: victim.name,
    discovery: disc,
    logDir,
    host: await freeAddress([2379, 2380, 8080, 2381]),
    env: secureEnv(),
  });
  await waitReady(boots[2]);
  const c = new Etcd3({ hosts: boots.map(httpsUrl), credentials: creds(client), dialTimeout: 2000 });
  try {
    await waitFor(
      'three voters at the running boots',
      async () => {
        const { members } = await within(5000, 'member list', c.cluster.memberList({ linearizable: true }));
        const want = boots.map((b) => `${b.name}=https://${b.host}:2380`).sort();
        return (
          JSON.stringify(
            members
              .filter((m) => !m.isLearner)
              .map((m) => `${m.name}=${m.peerURLs[0]}`)
              .sort(),
          ) === JSON.stringify(want)
        );
      },
      60_000,
      500,
    );
    assert.is(await within(5000, 'get', c.get('tls/hello').string()), 'world');
  } finally {
    c.close();
  }
});

test('certificates renew while etcd runs: a new client sees a new serial, same etcd PID, no client error', async () => {
  const target = boots[0]!;
  const pid = etcdPid(target.dataDir);
  assert.ok(pid, 'etcd of etcd-0 found in /proc');
  const first = await servedSerial(target);
  // a writer on one long-lived client, and one on a new client per write, through the rotations
  const kept = new Etcd3({ hosts: [httpsUrl(target)], credentials: creds(client), dialTimeout: 2000 });
  const errors: string[] = [];
  let writes = 0;
  let stop = false;
  const writer = (async () => {
    for (let i = 0; !stop && i < 2000; i++) {
      const fresh = new Etcd3({ hosts: [httpsUrl(target)], credentials: creds(client), dialTimeout: 2000 });
      try {
        await within(
          5000,
          'kept put',
          kept
            .put(`tls/w/${i % 10}`)
            .value(String(i))
            .exec(),
        );
        await within(5000, 'fresh get', fresh.get(`tls/w/${i % 10}`).string());
        writes++;
      } catch (err) {
        errors.push(String(err));
      } finally {
        fresh.close();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const seen = new Set([first]);
  try {
    await waitFor(
      'two renewals seen by new TLS clients',
      async () => {
        seen.add(await servedSerial(target));
        return seen.size >= 3;
      },
      90_000,
      1000,
    );
  } finally {
    stop = true;
    await writer;
    kept.close();
  }
  assert.is(etcdPid(target.dataDir), pid, 'etcd was not restarted');
  assert.ok(target.proc.log().includes('certificate renewed'), 'boot logged the renewal');
  assert.ok(writes > 0);
  assert.equal(errors, [], `${errors.length} client errors in ${writes + errors.length} writes`);
  console.log(`rotation: serials ${[...seen].length}, ${writes} writes without error, etcd PID ${pid} kept`);
});

test.run();
