// boot with --auth and --tls (the combination local-secure and production run) against real etcd 3.6
// and our discovery program (also --tls), without Kubernetes: three members bootstrap, the leader
// enables authentication with user root and creates the application user the ConfigMap files declare;
// an unauthenticated put fails (with a client certificate etcd takes its common name as the user when
// no token is given), root works, the application user cannot write outside its prefix; a member
// replaced with an empty data dir joins (membership calls as root); a member with a wrong root
// password exits with one line and code 5.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import {
  runToExit,
  programEnv,
  replaceBoot,
  startBoot,
  startDiscovery,
  waitReady,
  type BootProcess,
  type DiscoveryProcess,
} from '../world/programs.ts';
import { tempDir, waitFor, within } from '../world/procs.ts';
import { freeAddress } from '../world/net.ts';
import { etcdTool } from '../world/tools.ts';
import { createCa, issueLeaf, type KeyPair } from '../../internal/tls/x509.ts';
import { CLIENT_SUBJECT } from '../../internal/tls/secrets.ts';
import { directHttp } from '../../internal/status/direct.ts';
import { retryStaleToken } from '../helpers/members.ts';

const logDir = tempDir();
const secrets = tempDir();
const ROOT = 'root-pw-1';
const APP = 'app-pw-1';
let disc: DiscoveryProcess;
const boots: BootProcess[] = [];

writeFileSync(join(secrets, 'root'), `${ROOT}\n`);
writeFileSync(join(secrets, 'app'), APP);
writeFileSync(join(secrets, 'wrong'), 'not-the-password');
const appDir = tempDir();
writeFileSync(join(appDir, 'user'), 'app\n');
writeFileSync(join(appDir, 'prefix'), '/app/\n');

const authEnv = (password = 'root') => ({
  DEIS_ETCD_AUTH: 'true',
  DEIS_ETCD_ROOT_PASSWORD_FILE: join(secrets, password),
  DEIS_ETCD_APP_USER_DIR: appDir,
  DEIS_ETCD_APP_PASSWORD_FILE: join(secrets, 'app'),
});

const DAY = 86_400_000;
let ca: KeyPair;
let client: KeyPair;
const caDir = tempDir();
const tlsEnv = () => ({
  DEIS_ETCD_TLS: 'true',
  DEIS_ETCD_TLS_CA_DIR: caDir,
  DEIS_ETCD_TLS_DIR: join(tempDir(), 'tls'),
});
const secureEnv = (password = 'root') => ({
  ...authEnv(password),
  ...tlsEnv(),
  DEIS_ETCD_DISCOVERY_ENDPOINT: `https://${disc.host}:2381`,
});

const hosts = () => boots.filter((b) => b.proc.running()).map((b) => `https://${b.host}:2379`);
const as = (username?: string, password?: string) =>
  new Etcd3({
    hosts: hosts(),
    dialTimeout: 2000,
    credentials: {
      rootCertificate: Buffer.from(ca.cert),
      certChain: Buffer.from(client.cert),
      privateKey: Buffer.from(client.key),
    },
    ...(username ? { auth: { username, password: password ?? '' } } : {}),
  });

async function put(c: Etcd3, key: string, value: string): Promise<string> {
  try {
    await within(
      5000,
      `put ${key}`,
      retryStaleToken(c, (c) => c.put(key).value(value).exec()),
    );
    return 'ok';
  } catch (err) {
    return String(err);
  } finally {
    c.close();
  }
}

/** Waits until the member list names exactly the running boots, all voters. */
async function converged(): Promise<void> {
  await waitFor(
    'the member list to match the running boots',
    async () => {
      const c = as('root', ROOT);
      try {
        const { members } = await within(5000, 'member list', c.cluster.memberList({ linearizable: true }));
        const want = boots.map((b) => b.name).sort();
        return (
          JSON.stringify(
            members
              .filter((m) => !m.isLearner)
              .map((m) => m.name)
              .sort(),
          ) === JSON.stringify(want)
        );
      } finally {
        c.close();
      }
    },
    90_000,
    500,
  );
}

test.before(async () => {
  ca = await createCa('deis-etcd-test-ca', DAY);
  // as discovery issues the client Secret's certificate (no common name)
  client = await issueLeaf(ca, {
    commonName: 'deis-etcd-client',
    subject: CLIENT_SUBJECT,
    dnsNames: [],
    ipAddresses: [],
    lifetimeMs: DAY,
  });
  writeFileSync(join(caDir, 'tls.crt'), ca.cert);
  writeFileSync(join(caDir, 'tls.key'), ca.key, { mode: 0o600 });
  disc = await startDiscovery({ size: 3, logDir, extraEnv: tlsEnv() });
  for (const name of ['etcd-0', 'etcd-1', 'etcd-2']) {
    boots.push(await startBoot({ name, discovery: disc, logDir, env: secureEnv() }));
  }
  await Promise.all(boots.map((b) => waitReady(b)));
});
test.after(async () => {
  await Promise.all(boots.map((b) => b.proc.stop()));
  await disc?.proc.stop();
});

test('the leader enables authentication once and creates the application user', async () => {
  await waitFor(
    'authentication on and the application user made',
    () => boots.some((b) => b.proc.log().includes('"msg":"application user ready"')),
    30_000,
    250,
  );
  const enabled = boots.map((b) => b.proc.log().split('"msg":"authentication enabled"').length - 1);
  assert.is(
    enabled.reduce((a, b) => a + b, 0),
    1,
    `enabled once: ${enabled.join(',')}`,
  );
});

test('an unauthenticated put fails; root may write anywhere', async () => {
  assert.match(await put(as(), 'x', '1'), /user name is empty|permission denied/);
  assert.match(await put(as('root', 'wrong'), 'x', '1'), /authentication failed/);
  assert.is(await put(as('root', ROOT), 'x', '1'), 'ok');
});

test('the application user writes under its prefix only', async () => {
  const first = await put(as('app', APP), '/app/a', '1');
  const said = boots.flatMap((b) =>
    b.proc
      .log()
      .split('\n')
      .filter((l) => /authenticat|application user|permission|user name/.test(l) && !l.includes('"msg":"etcd"')),
  );
  assert.is(first, 'ok', said.slice(-10).join('\n'));
  assert.match(await put(as('app', APP), '/other/a', '1'), /permission denied/);
  assert.match(await put(as('app', APP), '/ap', '1'), /permission denied/);
});

test("status's route: etcd's JSON gateway over https with the client certificate and root's token", async () => {
  const http = directHttp({ ca: ca.cert, cert: client.cert, key: client.key });
  const url = `https://${boots[0]!.host}:2379`;
  const auth = await http(`${url}/v3/auth/authenticate`, { name: 'root', password: ROOT }, 5000);
  assert.is(auth.status, 200, auth.body);
  const token = String((JSON.parse(auth.body) as { token?: string }).token);
  const status = await http(`${url}/v3/maintenance/status`, {}, 5000, { Authorization: token });
  assert.is(status.status, 200, status.body);
  assert.match(status.body, /"leader"/);
  const health = await http(`${url}/health`, undefined, 5000);
  assert.match(health.body, /"health":"true"/);
});

test('a member replaced with an empty data dir joins with authentication on', async () => {
  boots[2] = (await replaceBoot(boots[2]!, { discovery: disc, logDir, env: secureEnv() })).boot;
  await waitReady(boots[2]);
  await converged();
  const c = as('root', ROOT);
  try {
    assert.is(await within(5000, 'get', c.get('x').string()), '1');
  } finally {
    c.close();
  }
});

test('the snapshot program takes a snapshot as root (client certificate and root password file); without the password, one line', async () => {
  const tlsDir = tempDir();
  writeFileSync(join(tlsDir, 'ca.crt'), ca.cert);
  writeFileSync(join(tlsDir, 'tls.crt'), client.cert);
  writeFileSync(join(tlsDir, 'tls.key'), client.key);
  const dir = join(tempDir(), 'snapshots');
  mkdirSync(dir);
  const env = (more: Record<string, string>) =>
    programEnv({
      DEIS_ETCD_ENDPOINTS: hosts().join(','),
      DEIS_ETCD_CLIENT_TLS_DIR: tlsDir,
      DEIS_ETCD_DIR: dir,
      DEIS_ETCD_ETCDUTL_BINARY: etcdTool('etcdutl'),
      ...more,
    });
  const ok = await runToExit(
    'snapshot',
    'snapshot-root',
    [],
    env({ DEIS_ETCD_ROOT_PASSWORD_FILE: join(secrets, 'root') }),
    logDir,
  );
  assert.is(ok.code, 0, ok.log.slice(-3000));
  assert.is(readdirSync(dir).filter((f) => f.endsWith('.db')).length, 1, 'one snapshot kept');
  const missing = join(secrets, 'absent');
  const bad = await runToExit('snapshot', 'snapshot-nopw', [], env({ DEIS_ETCD_ROOT_PASSWORD_FILE: missing }), logDir);
  assert.is(bad.code, 3, bad.log.slice(-3000));
  assert.is(bad.errors.length, 1, bad.log.slice(-3000));
  assert.match(bad.errors[0]!, `${missing} is missing or empty: mount the Secret deis-etcd-root`);
  assert.is(readdirSync(dir).filter((f) => f.endsWith('.db')).length, 1, 'nothing written by the failed run');
});

test('a member with a wrong root password: one line naming the cause, exit 5, no data', async () => {
  const dataDir = join(tempDir(), 'data');
  const env = programEnv({
    POD_NAME: 'etcd-9',
    POD_IP: await freeAddress([2379, 2380, 8080]),
    DEIS_ETCD_DISCOVERY_TOKEN: disc.token,
    DEIS_ETCD_CLUSTER_ENDPOINTS: hosts().join(','),
    DEIS_ETCD_DATA_DIR: dataDir,
    DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
    DEIS_ETCD_KUBERNETES: 'off',
    DEIS_ETCD_WAIT_TIMEOUT: '10',
    ...secureEnv('wrong'),
  });
  const { code, errors, log } = await runToExit('boot', 'wrong-root', [], env, logDir);
  assert.is(code, 5, log.slice(-3000));
  assert.is(errors.length, 1, log.slice(-3000));
  assert.match(errors[0]!, /refused the user's password/);
});

test.run();
