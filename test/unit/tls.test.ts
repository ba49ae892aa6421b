// The X.509 module: a CA and leaves made with @peculiar/x509, read back with Node's own X509Certificate
// and checked by a real TLS handshake; every bad pair gives one environment error naming its source.
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeisError, exitCodeFor } from '../../internal/errors.ts';
import { certInfo, checkPair, createCa, issueLeaf, renewAt, serviceNames } from '../../internal/tls/x509.ts';

const DAY = 86_400_000;
const src = { cert: '/tls/tls.crt', key: '/tls/tls.key' };

test('a CA and a leaf with the requested SANs, both usages and a bounded lifetime', async () => {
  const ca = await createCa('deis-etcd-ca', 10 * DAY);
  const caInfo = checkPair(ca, src, { mustBeCa: true });
  assert.ok(caInfo.isCa);
  const leaf = await issueLeaf(ca, {
    commonName: 'deis-etcd-0',
    dnsNames: ['deis-etcd-0.deis-etcd.ns.svc.cluster.local', 'localhost', 'localhost'],
    ipAddresses: ['127.0.0.1', '10.1.2.3'],
    lifetimeMs: 3 * DAY,
  });
  const info = checkPair(leaf, src, { signedBy: ca.cert });
  assert.not.ok(info.isCa);
  assert.equal(info.dnsNames, ['deis-etcd-0.deis-etcd.ns.svc.cluster.local', 'localhost']);
  assert.equal(info.ipAddresses, ['127.0.0.1', '10.1.2.3']);
  assert.ok(Math.abs(info.notAfter - (Date.now() + 3 * DAY)) < 5 * 60_000, 'lifetime about 3 days');
  assert.match(info.subject, /CN=deis-etcd-0/);
  // a leaf never outlives its CA
  const long = await issueLeaf(ca, { commonName: 'x', dnsNames: [], ipAddresses: [], lifetimeMs: 100 * DAY });
  assert.ok(certInfo(long.cert).notAfter <= caInfo.notAfter);
  // each issue has its own serial
  const again = await issueLeaf(ca, { commonName: 'x', dnsNames: [], ipAddresses: [], lifetimeMs: DAY });
  assert.is.not(certInfo(again.cert).serial, certInfo(long.cert).serial);
});

test('a real TLS handshake with mutual authentication accepts the leaves and refuses another CA', async () => {
  const ca = await createCa('ca', DAY);
  const other = await createCa('other', DAY);
  const server = await issueLeaf(ca, {
    commonName: 's',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    lifetimeMs: DAY,
  });
  const good = await issueLeaf(ca, { commonName: 'c', dnsNames: [], ipAddresses: [], lifetimeMs: DAY });
  const foreign = await issueLeaf(other, { commonName: 'c', dnsNames: [], ipAddresses: [], lifetimeMs: DAY });
  const srv = createServer({ ...server, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (s) => s.end('ok'));
  srv.on('tlsClientError', () => undefined);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  const talk = (client: { cert: string; key: string }) =>
    new Promise<string>((resolve, reject) => {
      const s: TLSSocket = connect({ host: '127.0.0.1', port, ca: ca.cert, ...client }, () => undefined);
      let got = '';
      s.on('data', (d) => {
        got += d;
      });
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
  try {
    assert.is(await talk(good), 'ok');
    // TLS 1.3: the client may finish its half before the server refuses, so the refusal shows as an
    // error or as a connection closed without the server's answer
    const answer = await talk(foreign).catch((err: Error) => `refused: ${err.message}`);
    assert.is.not(answer, 'ok', 'a client certificate from another CA is refused');
  } finally {
    srv.close();
  }
});

const rows: {
  name: string;
  pair: (g: { ca: Awaited<ReturnType<typeof createCa>> }) => Promise<{ cert?: string; key?: string }>;
  opts?: { mustBeCa?: boolean; signedBy?: boolean };
  want: RegExp;
}[] = [
  {
    name: 'missing certificate',
    pair: async () => ({ key: 'k' }),
    want: /^\/tls\/tls\.crt is missing or empty: mount it$/,
  },
  { name: 'missing key', pair: async ({ ca }) => ({ cert: ca.cert }), want: /^\/tls\/tls\.key is missing or empty/ },
  {
    name: 'garbage certificate',
    pair: async ({ ca }) => ({ cert: 'nope', key: ca.key }),
    want: /^\/tls\/tls\.crt is not a PEM certificate/,
  },
  {
    name: 'garbage key',
    pair: async ({ ca }) => ({ cert: ca.cert, key: 'nope' }),
    want: /^\/tls\/tls\.key is not a PEM private key/,
  },
  {
    name: 'mismatched key',
    pair: async ({ ca }) => ({ cert: ca.cert, key: (await createCa('b', DAY)).key }),
    want: /^\/tls\/tls\.key does not belong to \/tls\/tls\.crt/,
  },
  {
    name: 'expired',
    pair: async () => createCa('old', DAY, Date.now() - 2 * DAY),
    want: /^\/tls\/tls\.crt expired at \d{4}-/,
  },
  {
    name: 'a leaf where a CA is needed',
    pair: async ({ ca }) => issueLeaf(ca, { commonName: 'l', dnsNames: [], ipAddresses: [], lifetimeMs: DAY }),
    opts: { mustBeCa: true },
    want: /is not a CA certificate/,
  },
  {
    name: 'signed by another CA',
    pair: async () =>
      issueLeaf(await createCa('o', DAY), { commonName: 'l', dnsNames: [], ipAddresses: [], lifetimeMs: DAY }),
    opts: { signedBy: true },
    want: /was not signed by the CA/,
  },
];
for (const row of rows) {
  test(`bad pair: ${row.name} -> one environment error (exit 3)`, async () => {
    const ca = await createCa('ca', DAY);
    const pair = await row.pair({ ca });
    try {
      checkPair({ cert: pair.cert, key: pair.key }, src, {
        mustBeCa: row.opts?.mustBeCa,
        ...(row.opts?.signedBy ? { signedBy: ca.cert } : {}),
      });
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, DeisError);
      assert.is(exitCodeFor(err), 3);
      assert.match((err as Error).message, row.want);
      assert.not.match((err as Error).message, /\n/);
    }
  });
}

test('renewAt: the threshold ahead of expiry, never before halfway', () => {
  const info = { notBefore: 0, notAfter: 72 };
  assert.is(renewAt(info, 24), 48);
  assert.is(renewAt(info, 100), 36);
  assert.is(renewAt(info, 0), 72);
});

test('serviceNames: every form a client may use', () => {
  assert.equal(serviceNames('deis-etcd', 'ns', 'cluster.local'), [
    'deis-etcd',
    'deis-etcd.ns',
    'deis-etcd.ns.svc',
    'deis-etcd.ns.svc.cluster.local',
  ]);
  assert.equal(serviceNames('deis-etcd', undefined, 'cluster.local'), ['deis-etcd']);
});

test.run();
