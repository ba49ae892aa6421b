// The TLS Secrets discovery keeps: created when absent, reused when present, racing starts agree on
// one, and a CA Secret without its key or a client Secret from another CA is one clear environment error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeisError, exitCodeFor } from '../../internal/errors.ts';
import { ensureCaSecret, ensureClientSecret } from '../../internal/tls/secrets.ts';
import { certInfo, checkPair, createCa, issueLeaf } from '../../internal/tls/x509.ts';
import { FakeKube } from '../fakes/kube.ts';

const DAY = 86_400_000;

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
  const info = await ensureClientSecret(kube, 'deis-etcd-client-tls', ca, 30 * DAY);
  const data = kube.secretData.get('deis-etcd-client-tls')!;
  assert.is(data['ca.crt'], ca.cert);
  checkPair({ cert: data['tls.crt'], key: data['tls.key'] }, { cert: 'c', key: 'k' }, { signedBy: ca.cert });
  assert.is(certInfo(data['tls.crt']!).serial, info.serial);
  assert.is((await ensureClientSecret(kube, 'deis-etcd-client-tls', ca, 30 * DAY)).serial, info.serial);
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
  await ensureClientSecret(kube, 'deis-etcd-client-tls', other, DAY);
  const ca = await ensureCaSecret(kube, 'deis-etcd-ca');
  const msg = await envError(ensureClientSecret(kube, 'deis-etcd-client-tls', ca, DAY));
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
  const clientErr = await ensureClientSecret(kube, 'c', ca, DAY, Date.now(), false).catch((e: unknown) => e);
  assert.match((clientErr as Error).message, /^Secret c does not exist yet/);
});

test.run();
