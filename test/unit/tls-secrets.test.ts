// The TLS Secrets discovery keeps: created when absent, reused when present, racing starts agree on
// one, and a CA Secret without its key or a client Secret from another CA is one clear environment error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeisError, exitCodeFor } from '../../internal/errors.ts';
import { ensureCaSecret, ensureClientSecret, type ClientSecretOptions } from '../../internal/tls/secrets.ts';
import { certInfo, checkPair, createCa, issueLeaf } from '../../internal/tls/x509.ts';
import { FakeKube } from '../fakes/kube.ts';
import { fakeClock } from '../fakes/clock.ts';
import { memoryLogger } from '../fakes/log.ts';
import { keepClientSecret } from '../../internal/discovery/tls.ts';
import type { DiscoveryConfig } from '../../internal/config/discovery.ts';

const DAY = 86_400_000;
const client = (o: Partial<ClientSecretOptions> = {}): ClientSecretOptions => ({
  name: 'deis-etcd-client-tls',
  lifetimeMs: 30 * DAY,
  renewBeforeMs: DAY,
  now: Date.now(),
  create: true,
  ...o,
});

async function envError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, DeisError);
    assert.is(exitCodeFor(err), 3);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

test('the CA Secret is created once (kubernetes.io/tls layout) and then reused', async () => {
  const kube = new FakeKube();
  const first = await ensureCaSecret(kube, 'deis-etcd-ca');
  assert.ok(first.info.isCa);
  const stored = kube.secretData.get('deis-etcd-ca')!;
  assert.equal(Object.keys(stored).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  const again = await ensureCaSecret(kube, 'deis-etcd-ca');
  assert.is(again.info.serial, first.info.serial);
});

test('racing starts agree on one CA', async () => {
  const kube = new FakeKube();
  const cas = await Promise.all([1, 2, 3].map(() => ensureCaSecret(kube, 'deis-etcd-ca')));
  assert.equal(new Set(cas.map((c) => c.info.serial)).size, 1);
});

test('the client Secret: issued from the CA for client use, reused afterwards', async () => {
  const kube = new FakeKube();
  const ca = await ensureCaSecret(kube, 'deis-etcd-ca');
  const { info } = await ensureClientSecret(kube, ca, client());
  const data = kube.secretData.get('deis-etcd-client-tls')!;
  assert.is(data['ca.crt'], ca.cert);
  checkPair({ cert: data['tls.crt'], key: data['tls.key'] }, { cert: 'c', key: 'k' }, { signedBy: ca.cert });
  assert.is(certInfo(data['tls.crt']!).serial, info.serial);
  // no common name: etcd would take it as a user, and its gateway refuses one under authentication
  assert.not.match(info.subject, /CN=/);
  assert.match(info.subject, /O=deis-etcd/);
  assert.is((await ensureClientSecret(kube, ca, client())).info.serial, info.serial);
  assert.equal(kube.secretUpdates, [], 'not due: left as it is');
});

test('a CA Secret without tls.key: one line naming the Secret and the fix', async () => {
  const kube = new FakeKube();
  const ca = await createCa('x', DAY);
  kube.secretData.set('deis-etcd-ca', { 'tls.crt': ca.cert });
  const msg = await envError(ensureCaSecret(kube, 'deis-etcd-ca'));
  assert.match(msg, /^Secret deis-etcd-ca has no tls\.key: .*delete the Secret/);
});

test('a CA Secret holding a leaf, or an expired CA: named', async () => {
  const kube = new FakeKube();
  const ca = await createCa('x', DAY);
  const leaf = await issueLeaf(ca, { commonName: 'l', dnsNames: [], ipAddresses: [], lifetimeMs: DAY });
  kube.secretData.set('leaf', { 'tls.crt': leaf.cert, 'tls.key': leaf.key });
  assert.match(await envError(ensureCaSecret(kube, 'leaf')), /^Secret leaf key tls\.crt is not a CA certificate/);
  const old = await createCa('old', DAY, Date.now() - 3 * DAY);
  kube.secretData.set('old', { 'tls.crt': old.cert, 'tls.key': old.key });
  assert.match(await envError(ensureCaSecret(kube, 'old')), /^Secret old key tls\.crt expired at/);
});

test('a client Secret from another CA (the CA Secret was replaced): named, with the fix', async () => {
  const kube = new FakeKube();
  const other = await createCa('other', DAY);
  await ensureClientSecret(kube, other, client({ lifetimeMs: DAY }));
  const ca = await ensureCaSecret(kube, 'deis-etcd-ca');
  const msg = await envError(ensureClientSecret(kube, ca, client({ lifetimeMs: DAY })));
  assert.match(msg, /^Secret deis-etcd-client-tls key tls\.crt was not signed by the CA/);
});

test('with cert-manager (create off): an absent Secret is a retryable environment error naming it; a present one is read', async () => {
  const kube = new FakeKube();
  const err = await ensureCaSecret(kube, 'deis-etcd-ca', Date.now(), false).catch((e: unknown) => e);
  assert.instance(err, DeisError);
  assert.is((err as DeisError).retryable, true);
  assert.match((err as Error).message, /^Secret deis-etcd-ca does not exist yet: .*cert-manager/);
  assert.not.ok(kube.secretData.has('deis-etcd-ca'), 'nothing created');
  const ca = await createCa('made-by-cert-manager', DAY);
  kube.secretData.set('deis-etcd-ca', { 'tls.crt': ca.cert, 'tls.key': ca.key, 'ca.crt': ca.cert });
  assert.is((await ensureCaSecret(kube, 'deis-etcd-ca', Date.now(), false)).cert, ca.cert);
  const clientErr = await ensureClientSecret(kube, ca, client({ name: 'c', create: false })).catch((e: unknown) => e);
  assert.match((clientErr as Error).message, /^Secret c does not exist yet/);
});

// the client Secret is renewed by the members' renew-before rule: due (within renew-before of expiry,
// past half its life) or expired -> issued again in place; not due, or made by cert-manager -> kept
const renewRows = [
  { name: 'due: within renew-before of expiry', age: 29.5 * DAY, create: true, renewed: true },
  { name: 'expired', age: 31 * DAY, create: true, renewed: true },
  { name: 'not due yet', age: 20 * DAY, create: true, renewed: false },
  { name: 'due, but cert-manager renews it (create off)', age: 29.5 * DAY, create: false, renewed: false },
];
for (const r of renewRows) {
  test(`client Secret renewal: ${r.name}`, async () => {
    const kube = new FakeKube();
    const now = Date.now();
    const ca = await ensureCaSecret(kube, 'deis-etcd-ca', now - 40 * DAY);
    await ensureClientSecret(kube, ca, client({ now: now - r.age }));
    const before = certInfo(kube.secretData.get('deis-etcd-client-tls')!['tls.crt']!);
    const got = await ensureClientSecret(kube, ca, client({ now, create: r.create })).then(
      (x) => x,
      (err: unknown) => err as Error,
    );
    const after = certInfo(kube.secretData.get('deis-etcd-client-tls')!['tls.crt']!);
    if (!r.renewed) {
      assert.is(after.serial, before.serial);
      assert.equal(kube.secretUpdates, []);
      return;
    }
    assert.not.instance(got, Error);
    assert.ok(!(got instanceof Error) && got.renewed && got.info.serial === after.serial);
    assert.is.not(after.serial, before.serial);
    assert.ok(after.notAfter > now + 29 * DAY, 'a full lifetime from now');
    assert.equal(kube.secretUpdates, ['deis-etcd-client-tls']);
    const data = kube.secretData.get('deis-etcd-client-tls')!;
    checkPair({ cert: data['tls.crt'], key: data['tls.key'] }, { cert: 'c', key: 'k' }, { signedBy: ca.cert, now });
  });
}

test('keepClientSecret: sleeps until the renew-before point, renews, logs it once per renewal', async () => {
  const kube = new FakeKube();
  const start = Math.floor(Date.now() / 1000) * 1000; // certificates keep whole seconds
  const clock = fakeClock(start);
  const log = memoryLogger();
  const ca = await ensureCaSecret(kube, 'deis-etcd-ca', start);
  // the settings keepClientSecret reads
  const cfg = {
    clientSecret: 'deis-etcd-client-tls',
    clientCertLifetimeMs: 3_600_000,
    createTlsSecrets: true,
    tls: { renewBeforeMs: 1_200_000 },
  } as unknown as DiscoveryConfig;
  const { info } = await ensureClientSecret(kube, ca, client({ now: start, lifetimeMs: 3_600_000 }));
  const stop = new AbortController();
  // the fake clock returns at once: stop after a few wakes
  const sleep = clock.sleep;
  clock.sleep = async (ms, signal) => {
    await sleep(ms, signal);
    if (clock.sleeps.length >= 4) stop.abort();
  };
  await keepClientSecret({ cfg, kube, clock, log, files: undefined as never }, ca, info, stop.signal);
  // 1 h lifetime, renewed 20 min before expiry: each wake 40 min after the last issue
  assert.equal(clock.sleeps.slice(0, 2), [2_400_000, 2_400_000]);
  assert.equal(log.messages().filter((m) => m === 'client certificate renewed').length, kube.secretUpdates.length);
  assert.ok(kube.secretUpdates.length >= 1, 'renewed');
  const now = certInfo(kube.secretData.get('deis-etcd-client-tls')!['tls.crt']!);
  assert.is.not(now.serial, info.serial);
});

test('keepClientSecret: a long-lived client certificate is looked at hourly (a replaced Secret is seen)', async () => {
  const kube = new FakeKube();
  const clock = fakeClock(Date.now());
  const ca = await ensureCaSecret(kube, 'deis-etcd-ca', clock.now());
  const cfg = { clientSecret: 'deis-etcd-client-tls', tls: { renewBeforeMs: DAY }, createTlsSecrets: true };
  const { info } = await ensureClientSecret(kube, ca, client({ now: clock.now() }));
  const stop = new AbortController();
  const sleep = clock.sleep;
  clock.sleep = async (ms, signal) => {
    await sleep(ms, signal);
    if (clock.sleeps.length >= 3) stop.abort();
  };
  const d = { cfg: cfg as unknown as DiscoveryConfig, kube, clock, log: memoryLogger(), files: undefined as never };
  await keepClientSecret(d, ca, info, stop.signal);
  assert.equal(clock.sleeps, [3_600_000, 3_600_000, 3_600_000]);
  assert.equal(kube.secretUpdates, []);
});

test.run();
