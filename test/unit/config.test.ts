// Config validation as pure functions over plain objects: defaults, env/flag sources, every problem
// reported at once, ETCD_* pass-through.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateBoot } from '../../internal/config/boot.ts';
import { validateDiscovery } from '../../internal/config/discovery.ts';
import { parseOptions, type RawOptions } from '../../internal/config/options.ts';
import { bootOptions } from '../../internal/config/boot.ts';
import { DeisError } from '../../internal/errors.ts';

const raw = (o: Record<string, string>): RawOptions => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, source: `--${k}` }]));

function configError(fn: () => unknown): string {
  try { fn(); } catch (err) {
    assert.instance(err, DeisError);
    assert.is((err as DeisError).code, 'config');
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

test('discovery defaults', () => {
  const c = validateDiscovery({});
  assert.equal([c.clusterSize, c.clientPort, c.peerPort, c.dataDir, c.tokenFile, c.tokenSecret, c.httpPort], [3, 2381, 2382, '/var/lib/etcd', '/var/run/secrets/deis/etcd/discovery/token', 'deis-etcd-discovery-token', 8081]);
  assert.ok(Object.isFrozen(c));
});

const sizeRows: { size: string; even?: string; ok: boolean }[] = [
  { size: '1', ok: true }, { size: '3', ok: true }, { size: '9', ok: true }, { size: '0', ok: false }, { size: '10', ok: false },
  { size: 'abc', ok: false }, { size: '4', ok: false }, { size: '4', even: 'true', ok: true }, { size: '3.5', ok: false }, { size: '-1', ok: false },
];
for (const r of sizeRows) {
  test(`cluster size ${r.size}${r.even ? ' with --allow-even-size' : ''}: ${r.ok ? 'accepted' : 'refused'}`, () => {
    const input = raw({ 'cluster-size': r.size, ...(r.even ? { 'allow-even-size': r.even } : {}) });
    if (r.ok) assert.is(validateDiscovery(input).clusterSize, Number(r.size));
    else assert.match(configError(() => validateDiscovery(input)), '--cluster-size');
  });
}

test('every problem is reported at once', () => {
  const msg = configError(() => validateDiscovery(raw({ 'cluster-size': '0', 'client-port': 'x', 'advertise-host': 'pod-a', 'log-level': 'loud' })));
  for (const part of ['--cluster-size', '--client-port', '--advertise-host', '--log-level']) assert.match(msg, part);
});

test('boot: the discovery endpoint comes from the Service env vars when not given', () => {
  const c = validateBoot(raw({ name: 'deis-etcd-0', 'discovery-service-host': '10.0.0.9', 'discovery-service-port': '2381' }), {});
  assert.is(c.discoveryEndpoint, 'http://10.0.0.9:2381');
});

test('boot: the client Service becomes a cluster endpoint', () => {
  const c = validateBoot(raw({ name: 'deis-etcd-0' }), { DEIS_ETCD_SERVICE_HOST: '10.0.0.7', DEIS_ETCD_SERVICE_PORT: '2379' });
  assert.equal(c.clusterEndpoints, ['http://10.0.0.7:2379']);
});

test('boot: ETCD_* settings pass through, ones boot owns are dropped and reported', () => {
  const c = validateBoot(raw({ name: 'deis-etcd-0' }), { ETCD_HEARTBEAT_INTERVAL: '200', ETCD_INITIAL_CLUSTER: 'x=http://y', ETCD_NAME: 'other' });
  assert.equal(c.etcdEnv, { ETCD_HEARTBEAT_INTERVAL: '200' });
  assert.is(c.etcdEnvDropped.length, 2);
});

test('boot: a name that is no DNS label, a missing name', () => {
  assert.match(configError(() => validateBoot(raw({ name: 'Deis_Etcd' }), {})), 'DNS label');
  assert.match(configError(() => validateBoot({}, {})), 'set POD_NAME');
});

test('parse: a flag beats its env var; env fills absent flags; unknown DEIS_ETCD_ vars warn', async () => {
  const r = await parseOptions('boot', 'x', bootOptions, ['--name', 'from-flag'], { POD_NAME: 'from-env', POD_IP: '10.1.2.3', DEIS_ETCD_TYPO: '1', DEIS_ETCD_DISCOVERY_PORT_2381_TCP: 'tcp://x' }, ['DEIS_ETCD_']);
  assert.is(r.kind, 'run');
  if (r.kind !== 'run') return;
  assert.equal(r.raw.name, { value: 'from-flag', source: '--name' });
  assert.equal(r.raw['advertise-host'], { value: '10.1.2.3', source: 'POD_IP' });
  assert.equal(r.warnings, ['unknown environment variable DEIS_ETCD_TYPO is ignored']);
});

test('parse: an unknown flag is a config error', async () => {
  try {
    await parseOptions('boot', 'x', bootOptions, ['--nmae', 'x'], {}, []);
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, DeisError);
    assert.match((err as Error).message, 'nmae');
  }
});

test.run();
