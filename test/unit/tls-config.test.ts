// The TLS settings (off by default): durations, what --tls changes in boot's URLs, the etcd settings
// boot then owns, and the names in a member's certificate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateBoot } from '../../internal/config/boot.ts';
import type { RawOptions } from '../../internal/config/options.ts';
import { parseDuration } from '../../internal/config/tls.ts';
import { DeisError } from '../../internal/errors.ts';
import { memberNames } from '../../internal/boot/tls.ts';
import { healthBase } from '../../internal/boot/cluster-view.ts';
import { selfUrls } from '../../internal/boot/observe.ts';
import { validateDiscovery } from '../../internal/config/discovery.ts';
import { discoveryNames } from '../../internal/discovery/tls.ts';

const raw = (o: Record<string, string>): RawOptions =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, source: `--${k}` }]));
const boot = (o: Record<string, string>, env: NodeJS.ProcessEnv = {}) =>
  validateBoot(raw({ name: 'deis-etcd-0', ...o }), env);
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, DeisError);
    assert.is((err as DeisError).code, 'config');
    return (err as Error).message;
  }
  throw new Error('no config error');
}

for (const row of [
  { input: '72h', want: 72 * 3_600_000 },
  { input: '3d', want: 3 * 86_400_000 },
  { input: '90m', want: 90 * 60_000 },
  { input: '60s', want: 60_000 },
  { input: ' 5h ', want: 5 * 3_600_000 },
  { input: '5', want: undefined },
  { input: '1.5h', want: undefined },
  { input: '-1h', want: undefined },
  { input: 'h', want: undefined },
]) {
  test(`parseDuration('${row.input}') is ${row.want}`, () => assert.is(parseDuration(row.input), row.want));
}

test('TLS is off by default: http URLs, as before', () => {
  const c = boot({ 'discovery-service-host': '10.0.0.9' });
  assert.is(c.tls.enabled, false);
  assert.is(c.scheme, 'http');
  assert.is(c.discoveryEndpoint, 'http://10.0.0.9:2381');
  const self = selfUrls(c, '10.1.1.1');
  assert.is(self.clientUrl, 'http://10.1.1.1:2379');
  assert.is(self.healthUrl, self.clientUrl);
});

test('--tls: https client, peer and default discovery/cluster URLs; health read on the metrics listener', () => {
  const c = boot({ tls: 'true', 'discovery-service-host': '10.0.0.9' }, { DEIS_ETCD_SERVICE_HOST: '10.0.0.8' });
  assert.is(c.scheme, 'https');
  assert.is(c.discoveryEndpoint, 'https://10.0.0.9:2381');
  assert.equal(c.clusterEndpoints, ['https://10.0.0.8:2379']);
  const self = selfUrls(c, '10.1.1.1');
  assert.is(self.clientUrl, 'https://10.1.1.1:2379');
  assert.is(self.peerUrl, 'https://10.1.1.1:2380');
  assert.is(self.healthUrl, 'http://10.1.1.1:2381');
  // other members' health, before asking them over gRPC: their metrics listeners
  assert.is(healthBase(c, 'https://10.1.1.5:2379'), 'http://10.1.1.5:2381');
  assert.is(healthBase(c, 'https://[fd00::5]:2379'), 'http://[fd00::5]:2381');
  assert.is(healthBase(boot({}), 'http://10.1.1.5:2379'), 'http://10.1.1.5:2379');
  assert.is(c.tls.lifetimeMs, 72 * 3_600_000);
  assert.is(c.tls.renewBeforeMs, 24 * 3_600_000);
});

test("--tls: etcd TLS settings from ETCD_* are boot's own (dropped and reported); without --tls they pass", () => {
  const env = { ETCD_CERT_FILE: '/x.crt', ETCD_SNAPSHOT_COUNT: '5' };
  const on = boot({ tls: 'true' }, env);
  assert.equal(on.etcdEnv, { ETCD_SNAPSHOT_COUNT: '5' });
  assert.match(on.etcdEnvDropped.join(), /ETCD_CERT_FILE is ignored/);
  assert.equal(boot({}, env).etcdEnv, env);
});

test('bad TLS settings: every problem in one config error', () => {
  const msg = configError(() =>
    boot({
      tls: 'true',
      'etcd-metrics-port': '0',
      'cert-lifetime': '3 days',
      'cert-renew-before': '1y',
      'tls-dir': '/x',
      'tls-ca-dir': '/x',
    }),
  );
  assert.match(msg, /--tls needs --etcd-metrics-port/);
  assert.match(msg, /--cert-lifetime must be a duration like 72h.*not '3 days'/);
  assert.match(msg, /--cert-renew-before must be a duration/);
  assert.match(msg, /--tls-ca-dir and --tls-dir must differ/);
  assert.match(
    configError(() => boot({ tls: 'true', 'cert-lifetime': '30s' })),
    /at least 60 s/,
  );
});

test("a member's certificate names: pod IP, pod DNS names under the headless Service, the client Service, localhost", () => {
  const c = boot({ tls: 'true', namespace: 'db', 'cluster-domain': 'example.org' });
  assert.equal(memberNames(c, '10.1.1.1'), {
    dnsNames: [
      'deis-etcd-0.deis-etcd-peers',
      'deis-etcd-0.deis-etcd-peers.db',
      'deis-etcd-0.deis-etcd-peers.db.svc',
      'deis-etcd-0.deis-etcd-peers.db.svc.example.org',
      'deis-etcd',
      'deis-etcd.db',
      'deis-etcd.db.svc',
      'deis-etcd.db.svc.example.org',
      'localhost',
    ],
    ipAddresses: ['127.0.0.1', '10.1.1.1'],
  });
  const svc = boot({ tls: 'true', namespace: 'db' }, { DEIS_ETCD_SERVICE_HOST: '10.96.0.7' });
  assert.equal(memberNames(svc, '10.1.1.1').ipAddresses, ['127.0.0.1', '10.1.1.1', '10.96.0.7']);
  const peers = boot({ tls: 'true', namespace: 'db', 'peer-service': 'etcd-headless' });
  assert.ok(memberNames(peers, '10.1.1.1').dnsNames.includes('deis-etcd-0.etcd-headless.db.svc.cluster.local'));
});

test("the discovery etcd's certificate names: its Service's names and ClusterIP, the pod IP, localhost", () => {
  const c = validateDiscovery(raw({ tls: 'true', namespace: 'db', 'discovery-service-host': '10.96.0.9' }));
  assert.equal(discoveryNames(c, '10.1.1.2'), {
    dnsNames: [
      'deis-etcd-discovery',
      'deis-etcd-discovery.db',
      'deis-etcd-discovery.db.svc',
      'deis-etcd-discovery.db.svc.cluster.local',
      'localhost',
    ],
    ipAddresses: ['127.0.0.1', '10.1.1.2', '10.96.0.9'],
  });
  assert.match(
    configError(() =>
      validateDiscovery(raw({ tls: 'true', 'etcd-metrics-port': '2381', 'client-cert-lifetime': '1 year' })),
    ),
    /--etcd-metrics-port must differ.*--client-cert-lifetime must be a duration/,
  );
});

test.run();
