// Config validation as pure functions over plain objects: defaults (kept once, in the option tables),
// env/flag sources, every problem reported at once, ETCD_* pass-through; and parsing: the one rule
// from flag to env name, deprecated names, unknown DEIS_ETCD_* names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootOptions, validateBoot } from '../../internal/config/boot.ts';
import { discoveryOptions, validateDiscovery } from '../../internal/config/discovery.ts';
import { parseOptions, type OptionSpec, type RawOptions } from '../../internal/config/options.ts';
import { OptionReader, Problems } from '../../internal/config/reader.ts';
import { DeisError } from '../../internal/errors.ts';

const raw = (o: Record<string, string>): RawOptions =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, source: `--${k}` }]));

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, DeisError);
    assert.is((err as DeisError).code, 'config');
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

test('discovery defaults', () => {
  const c = validateDiscovery({});
  assert.equal(
    [c.clusterSize, c.clientPort, c.peerPort, c.dataDir, c.tokenFile, c.tokenSecret, c.httpPort],
    [3, 2381, 2382, '/var/lib/etcd', '/var/run/secrets/deis/etcd/discovery/token', 'deis-etcd-discovery-token', 8081],
  );
  assert.ok(Object.isFrozen(c));
});

const sizeRows: { size: string; even?: string; ok: boolean }[] = [
  { size: '1', ok: true },
  { size: '3', ok: true },
  { size: '9', ok: true },
  { size: '0', ok: false },
  { size: '10', ok: false },
  { size: 'abc', ok: false },
  { size: '4', ok: false },
  { size: '4', even: 'true', ok: true },
  { size: '3.5', ok: false },
  { size: '-1', ok: false },
];
for (const r of sizeRows) {
  test(`cluster size ${r.size}${r.even ? ' with --allow-even-size' : ''}: ${r.ok ? 'accepted' : 'refused'}`, () => {
    const input = raw({ 'cluster-size': r.size, ...(r.even ? { 'allow-even-size': r.even } : {}) });
    if (r.ok) assert.is(validateDiscovery(input).clusterSize, Number(r.size));
    else
      assert.match(
        configError(() => validateDiscovery(input)),
        '--cluster-size',
      );
  });
}

test('boot: ports that collide (etcd metrics on the client port) are one config error; 0 turns metrics off', () => {
  assert.match(
    configError(() => validateBoot(raw({ name: 'deis-etcd-0', 'etcd-metrics-port': '2379' }), {})),
    /--client-port, --peer-port, --http-port and --etcd-metrics-port must differ/,
  );
  assert.is(
    validateBoot(raw({ name: 'deis-etcd-0', 'etcd-metrics-port': '0', 'http-port': '8080' }), {}).etcdMetricsPort,
    0,
  );
});

test('every problem is reported at once', () => {
  const msg = configError(() =>
    validateDiscovery(raw({ 'cluster-size': '0', 'client-port': 'x', 'advertise-host': 'pod-a', 'log-level': 'loud' })),
  );
  for (const part of ['--cluster-size', '--client-port', '--advertise-host', '--log-level']) assert.match(msg, part);
});

test('boot: the discovery endpoint comes from the Service env vars when not given', () => {
  const c = validateBoot(
    raw({ name: 'deis-etcd-0', 'discovery-service-host': '10.0.0.9', 'discovery-service-port': '2381' }),
    {},
  );
  assert.is(c.discoveryEndpoint, 'http://10.0.0.9:2381');
});

test('boot: the client Service becomes a cluster endpoint', () => {
  const c = validateBoot(raw({ name: 'deis-etcd-0' }), {
    DEIS_ETCD_SERVICE_HOST: '10.0.0.7',
    DEIS_ETCD_SERVICE_PORT: '2379',
  });
  assert.equal(c.clusterEndpoints, ['http://10.0.0.7:2379']);
});

test('boot: ETCD_* settings pass through, ones boot owns are dropped and reported', () => {
  const c = validateBoot(raw({ name: 'deis-etcd-0' }), {
    ETCD_HEARTBEAT_INTERVAL: '200',
    ETCD_INITIAL_CLUSTER: 'x=http://y',
    ETCD_NAME: 'other',
  });
  assert.equal(c.etcdEnv, { ETCD_HEARTBEAT_INTERVAL: '200' });
  assert.is(c.etcdEnvDropped.length, 2);
});

const retentionRows: { value: string; ok: boolean }[] = [
  { value: '1h', ok: true },
  { value: '1h30m', ok: true },
  { value: '90s', ok: true },
  { value: '0', ok: true },
  { value: '5', ok: true },
  { value: 'daily', ok: false },
  { value: '-1h', ok: false },
  { value: '', ok: false },
];
for (const r of retentionRows) {
  test(`boot: --auto-compaction-retention '${r.value}' is ${r.ok ? 'accepted' : 'one config error'}`, () => {
    const input = raw({ name: 'deis-etcd-0', 'auto-compaction-retention': r.value });
    if (r.ok) assert.is(validateBoot(input, {}).autoCompactionRetention, r.value);
    else
      assert.match(
        configError(() => validateBoot(input, {})),
        'must be a duration like 1h',
      );
  });
}

const restoreRows: { name: string; opts: Record<string, string>; want?: string }[] = [
  { name: 'latest with a dir', opts: { 'restore-from': 'latest', 'restore-dir': '/snap' } },
  { name: 'an absolute path alone', opts: { 'restore-from': '/snap/deis-etcd-20261130T114207Z.db' } },
  { name: 'a name with a dir', opts: { 'restore-from': 'deis-etcd-20261130T114207Z.db', 'restore-dir': '/snap' } },
  { name: 'latest without a dir', opts: { 'restore-from': 'latest' }, want: 'needs --s3-bucket or --restore-dir' },
  { name: 'latest with a bucket', opts: { 'restore-from': 'latest', 's3-bucket': 'snaps' } },
  {
    name: 'both a bucket and a dir',
    opts: { 'restore-from': 'latest', 's3-bucket': 'snaps', 'restore-dir': '/snap' },
    want: 'not both',
  },
  {
    name: 'a bad bucket name',
    opts: { 'restore-from': 'latest', 's3-bucket': 'Snaps_1' },
    want: 'must be a bucket name',
  },
  { name: 'a folder without a bucket', opts: { 's3-folder': 'backups' }, want: '--s3-folder needs --s3-bucket' },
  { name: 'a relative path', opts: { 'restore-from': '../x.db', 'restore-dir': '/snap' }, want: 'must be latest' },
];
for (const r of restoreRows) {
  test(`boot: --restore-from ${r.name}: ${r.want ?? 'accepted'}`, () => {
    const input = raw({ name: 'deis-etcd-0', ...r.opts });
    if (!r.want) assert.is(validateBoot(input, {}).restoreFrom, r.opts['restore-from']);
    else
      assert.match(
        configError(() => validateBoot(input, {})),
        r.want,
      );
  });
}

test('boot: ETCD_AUTO_COMPACTION_* are dropped (boot sets those flags) and reported', () => {
  const c = validateBoot(raw({ name: 'deis-etcd-0' }), { ETCD_AUTO_COMPACTION_RETENTION: '5m' });
  assert.equal(c.etcdEnv, {});
  assert.is(c.etcdEnvDropped.length, 1);
});

test('boot: a name that is no DNS label, a missing name', () => {
  assert.match(
    configError(() => validateBoot(raw({ name: 'Deis_Etcd' }), {})),
    'DNS label',
  );
  assert.match(
    configError(() => validateBoot({}, {})),
    'set POD_NAME',
  );
});

test('parse: a flag beats its env var; env fills absent flags; unknown DEIS_ETCD_ vars warn', async () => {
  const r = await parseOptions(
    'boot',
    'x',
    bootOptions,
    ['--name', 'from-flag'],
    { POD_NAME: 'from-env', POD_IP: '10.1.2.3', DEIS_ETCD_TYPO: '1', DEIS_ETCD_DISCOVERY_PORT_2381_TCP: 'tcp://x' },
    ['DEIS_ETCD_'],
  );
  assert.is(r.kind, 'run');
  if (r.kind !== 'run') return;
  assert.equal(r.raw.name, { value: 'from-flag', source: '--name' });
  assert.equal(r.raw['advertise-host'], { value: '10.1.2.3', source: 'POD_IP' });
  assert.equal(r.warnings, ['unknown environment variable DEIS_ETCD_TYPO is ignored']);
});

const programs = { boot: bootOptions, discovery: discoveryOptions } as const;
type Program = keyof typeof programs;

/** parseOptions as the programs call it, expecting a run (not --help). */
async function parse(program: Program, argv: string[], env: NodeJS.ProcessEnv) {
  const r = await parseOptions(program, 'x', programs[program], argv, env, ['DEIS_ETCD_']);
  if (r.kind !== 'run') throw new Error(`expected a run, got ${r.kind}`);
  return r;
}

// The env name of every flag: DEIS_ETCD_ + the flag upper-cased with - as _, except the names
// Kubernetes sets (downward API, the discovery Service's links) and DEIS_ETCD_DISCOVERY_TOKEN.
const envRows: { program: Program; want: Record<string, string> }[] = [
  {
    program: 'boot',
    want: {
      name: 'POD_NAME',
      namespace: 'POD_NAMESPACE',
      'advertise-host': 'POD_IP',
      'listen-host': 'DEIS_ETCD_LISTEN_HOST',
      'cluster-size': 'DEIS_ETCD_CLUSTER_SIZE',
      'allow-even-size': 'DEIS_ETCD_ALLOW_EVEN_SIZE',
      'discovery-endpoint': 'DEIS_ETCD_DISCOVERY_ENDPOINT',
      'discovery-service-host': 'DEIS_ETCD_DISCOVERY_SERVICE_HOST',
      'discovery-service-port': 'DEIS_ETCD_DISCOVERY_SERVICE_PORT',
      'cluster-endpoints': 'DEIS_ETCD_CLUSTER_ENDPOINTS',
      'token-file': 'DEIS_ETCD_TOKEN_FILE',
      token: 'DEIS_ETCD_DISCOVERY_TOKEN',
      selector: 'DEIS_ETCD_SELECTOR',
      statefulset: 'DEIS_ETCD_STATEFULSET',
      kubernetes: 'DEIS_ETCD_KUBERNETES',
      'client-port': 'DEIS_ETCD_CLIENT_PORT',
      'peer-port': 'DEIS_ETCD_PEER_PORT',
      'etcd-metrics-port': 'DEIS_ETCD_ETCD_METRICS_PORT',
      'peer-service': 'DEIS_ETCD_PEER_SERVICE',
      'cluster-domain': 'DEIS_ETCD_CLUSTER_DOMAIN',
      'data-dir': 'DEIS_ETCD_DATA_DIR',
      'etcd-binary': 'DEIS_ETCD_ETCD_BINARY',
      'http-port': 'DEIS_ETCD_HTTP_PORT',
      'start-timeout': 'DEIS_ETCD_START_TIMEOUT',
      'wait-timeout': 'DEIS_ETCD_WAIT_TIMEOUT',
      'rebuild-grace': 'DEIS_ETCD_REBUILD_GRACE',
      'heal-interval': 'DEIS_ETCD_HEAL_INTERVAL',
      'leave-timeout': 'DEIS_ETCD_LEAVE_TIMEOUT',
      'join-stall-timeout': 'DEIS_ETCD_JOIN_STALL_TIMEOUT',
      'auto-recover': 'DEIS_ETCD_AUTO_RECOVER',
      'quorum-loss-grace': 'DEIS_ETCD_QUORUM_LOSS_GRACE',
      'pod-gone-grace': 'DEIS_ETCD_POD_GONE_GRACE',
      'auto-compaction-retention': 'DEIS_ETCD_AUTO_COMPACTION_RETENTION',
      'defrag-threshold': 'DEIS_ETCD_DEFRAG_THRESHOLD',
      'defrag-min-size': 'DEIS_ETCD_DEFRAG_MIN_SIZE',
      'restore-from': 'DEIS_ETCD_RESTORE_FROM',
      'restore-dir': 'DEIS_ETCD_RESTORE_DIR',
      's3-bucket': 'DEIS_ETCD_S3_BUCKET',
      's3-folder': 'DEIS_ETCD_S3_FOLDER',
      's3-endpoint': 'DEIS_ETCD_S3_ENDPOINT',
      's3-region': 'DEIS_ETCD_S3_REGION',
      'restore-prefix': 'DEIS_ETCD_RESTORE_PREFIX',
      'etcdutl-binary': 'DEIS_ETCD_ETCDUTL_BINARY',
      'log-level': 'DEIS_ETCD_LOG_LEVEL',
      'log-format': 'DEIS_ETCD_LOG_FORMAT',
    },
  },
  {
    program: 'discovery',
    want: {
      'cluster-size': 'DEIS_ETCD_CLUSTER_SIZE',
      'allow-even-size': 'DEIS_ETCD_ALLOW_EVEN_SIZE',
      'client-port': 'DEIS_ETCD_CLIENT_PORT',
      'peer-port': 'DEIS_ETCD_PEER_PORT',
      'advertise-host': 'POD_IP',
      'listen-host': 'DEIS_ETCD_LISTEN_HOST',
      'data-dir': 'DEIS_ETCD_DATA_DIR',
      'token-file': 'DEIS_ETCD_TOKEN_FILE',
      token: 'DEIS_ETCD_DISCOVERY_TOKEN',
      'token-secret': 'DEIS_ETCD_TOKEN_SECRET',
      namespace: 'POD_NAMESPACE',
      'etcd-binary': 'DEIS_ETCD_ETCD_BINARY',
      'http-port': 'DEIS_ETCD_HTTP_PORT',
      'start-timeout': 'DEIS_ETCD_START_TIMEOUT',
      'log-level': 'DEIS_ETCD_LOG_LEVEL',
      'log-format': 'DEIS_ETCD_LOG_FORMAT',
    },
  },
];
for (const r of envRows) {
  test(`env names: every ${r.program} flag reads the variable the rule names, without a warning`, async () => {
    const env = Object.fromEntries(Object.values(r.want).map((name) => [name, `from ${name}`]));
    const got = await parse(r.program, [], env);
    const sources = Object.fromEntries(Object.entries(got.raw).map(([flag, v]) => [flag, v?.source]));
    assert.equal(sources, r.want);
    for (const [flag, name] of Object.entries(r.want)) assert.is(got.raw[flag]?.value, `from ${name}`, flag);
    assert.equal(got.warnings, []);
  });
}

// Names that changed when the rule came in: still read, after the new name, with one warning.
const deprecatedRows: { program: Program; flag: string; old: string; now: string }[] = [
  { program: 'boot', flag: 'client-port', old: 'DEIS_ETCD_MEMBER_CLIENT_PORT', now: 'DEIS_ETCD_CLIENT_PORT' },
  { program: 'boot', flag: 'etcd-binary', old: 'DEIS_ETCD_BINARY', now: 'DEIS_ETCD_ETCD_BINARY' },
  { program: 'discovery', flag: 'peer-port', old: 'DEIS_ETCD_DISCOVERY_PEER_PORT', now: 'DEIS_ETCD_PEER_PORT' },
  { program: 'discovery', flag: 'etcd-binary', old: 'DEIS_ETCD_BINARY', now: 'DEIS_ETCD_ETCD_BINARY' },
];
for (const r of deprecatedRows) {
  type Case = { name: string; argv: string[]; env: Record<string, string>; want: RawOptions[string]; warning: string };
  const cases: Case[] = [
    {
      name: `${r.old} alone sets --${r.flag}`,
      argv: [],
      env: { [r.old]: '1' },
      want: { value: '1', source: r.old },
      warning: `deprecated: ${r.old}, use ${r.now}`,
    },
    {
      name: `${r.now} beats ${r.old}`,
      argv: [],
      env: { [r.old]: '1', [r.now]: '2' },
      want: { value: '2', source: r.now },
      warning: `deprecated: ${r.old}, use ${r.now} (ignored: ${r.now} is set)`,
    },
    {
      name: `--${r.flag} beats ${r.old}`,
      argv: [`--${r.flag}`, '2'],
      env: { [r.old]: '1' },
      want: { value: '2', source: `--${r.flag}` },
      warning: `deprecated: ${r.old}, use ${r.now} (ignored: --${r.flag} is set)`,
    },
  ];
  for (const c of cases) {
    test(`deprecated env (${r.program}): ${c.name}, with exactly one warning naming ${r.now}`, async () => {
      const got = await parse(r.program, c.argv, c.env);
      assert.equal(got.raw[r.flag], c.want);
      assert.equal(got.warnings, [c.warning]);
    });
  }
}

test('unknown env: deprecated names are not unknown, truly unknown DEIS_ETCD_* names still are', async () => {
  // DEIS_ETCD_BINARY matters most here: names ending in _PORT pass as Kubernetes service links anyway.
  const env = {
    DEIS_ETCD_BINARY: '/bin/etcd',
    DEIS_ETCD_MEMBER_CLIENT_PORT: '2379',
    DEIS_ETCD_TYPO: '1',
    DEIS_ETCD_TOKEN: 't',
  };
  const got = await parse('boot', [], env);
  assert.equal(got.warnings, [
    'deprecated: DEIS_ETCD_MEMBER_CLIENT_PORT, use DEIS_ETCD_CLIENT_PORT',
    'deprecated: DEIS_ETCD_BINARY, use DEIS_ETCD_ETCD_BINARY',
    'unknown environment variable DEIS_ETCD_TOKEN is ignored',
    'unknown environment variable DEIS_ETCD_TYPO is ignored',
  ]);
});

// A bad value names where it came from: the flag, the variable, or the deprecated variable.
const port = 'must be an integer from 1 to 65535';
const sourceRows: { program: Program; argv?: string[]; env: Record<string, string>; want: string }[] = [
  { program: 'boot', argv: ['--client-port', 'x'], env: {}, want: `--client-port ${port}, not 'x'` },
  { program: 'boot', env: { DEIS_ETCD_CLIENT_PORT: 'x' }, want: `DEIS_ETCD_CLIENT_PORT ${port}, not 'x'` },
  {
    program: 'boot',
    env: { DEIS_ETCD_MEMBER_CLIENT_PORT: 'x' },
    want: `DEIS_ETCD_MEMBER_CLIENT_PORT ${port}, not 'x'`,
  },
  { program: 'boot', env: { POD_IP: 'pod-a' }, want: "POD_IP must be an IP address, not 'pod-a'" },
  {
    program: 'discovery',
    env: { DEIS_ETCD_DISCOVERY_PEER_PORT: '0' },
    want: `DEIS_ETCD_DISCOVERY_PEER_PORT ${port}, not '0'`,
  },
  {
    program: 'discovery',
    env: { DEIS_ETCD_CLUSTER_SIZE: 'x' },
    want: 'DEIS_ETCD_CLUSTER_SIZE must be an integer from 1 to 9',
  },
];
for (const r of sourceRows) {
  test(`a bad value names its source: ${r.program} ${r.argv?.join(' ') ?? Object.keys(r.env).join(' ')}`, async () => {
    const env = { POD_NAME: 'deis-etcd-0', ...r.env };
    const got = await parse(r.program, r.argv ?? [], env);
    const validate = r.program === 'boot' ? () => validateBoot(got.raw, env) : () => validateDiscovery(got.raw);
    assert.match(configError(validate), r.want);
  });
}

// Every typed default in a table, and where validation puts it. Validating no input gives the table's
// default; with the row's default changed to `alt`, it gives `alt`: validation keeps no copy of its own.
type Config = Record<string, unknown>;
/** The config as a plain record, or `{ error }` for a config error. */
function validate(program: Program, input: RawOptions): Config {
  try {
    return program === 'boot'
      ? { ...validateBoot({ name: { value: 'deis-etcd-0', source: 'POD_NAME' }, ...input }, {}) }
      : { ...validateDiscovery(input) };
  } catch (err) {
    if (err instanceof DeisError && err.code === 'config') return { error: err.message };
    throw err;
  }
}
const endpointPort = (c: Config) => c.discoveryEndpoint && Number(new URL(String(c.discoveryEndpoint)).port);
// allow-even-size shows in whether a size of 4 is accepted
const evenAccepted = (c: Config) => c.error === undefined && c.clusterSize === 4;
const tlsOf = (c: Config) => (c.tls ?? {}) as Record<string, number | string | boolean>;
const HOURS = 3_600_000;
function tlsDefaultRows(program: Program) {
  return [
    { program, flag: 'tls', read: (c: Config) => tlsOf(c).enabled, alt: true },
    { program, flag: 'tls-ca-dir', read: (c: Config) => tlsOf(c).caDir, alt: '/ca' },
    { program, flag: 'tls-dir', read: (c: Config) => tlsOf(c).dir, alt: '/tls' },
    { program, flag: 'cert-lifetime', read: (c: Config) => `${Number(tlsOf(c).lifetimeMs) / HOURS}h`, alt: '5h' },
    {
      program,
      flag: 'cert-renew-before',
      read: (c: Config) => `${Number(tlsOf(c).renewBeforeMs) / HOURS}h`,
      alt: '2h',
    },
  ];
}
const defaultRows: {
  program: Program;
  flag: string;
  read: (c: Config) => unknown;
  alt: unknown;
  input?: RawOptions;
}[] = [
  { program: 'boot', flag: 'cluster-size', read: (c) => c.clusterSize, alt: 5 },
  { program: 'boot', flag: 'allow-even-size', read: evenAccepted, alt: true, input: raw({ 'cluster-size': '4' }) },
  {
    program: 'boot',
    flag: 'discovery-service-port',
    read: endpointPort,
    alt: 2999,
    input: raw({ 'discovery-service-host': '10.0.0.9' }),
  },
  { program: 'boot', flag: 'token-file', read: (c) => c.tokenFile, alt: '/tmp/token' },
  { program: 'boot', flag: 'selector', read: (c) => c.selector, alt: 'app=x' },
  { program: 'boot', flag: 'kubernetes', read: (c) => c.kubernetes, alt: 'off' },
  { program: 'boot', flag: 'client-port', read: (c) => c.clientPort, alt: 3379 },
  { program: 'boot', flag: 'peer-port', read: (c) => c.peerPort, alt: 3380 },
  { program: 'boot', flag: 'etcd-metrics-port', read: (c) => c.etcdMetricsPort, alt: 9381 },
  { program: 'boot', flag: 'cluster-domain', read: (c) => c.clusterDomain, alt: 'example.org' },
  { program: 'boot', flag: 'data-dir', read: (c) => c.dataDir, alt: '/data' },
  { program: 'boot', flag: 'etcd-binary', read: (c) => c.etcdBinary, alt: '/usr/bin/etcd' },
  { program: 'boot', flag: 'http-port', read: (c) => c.httpPort, alt: 9080 },
  { program: 'boot', flag: 'start-timeout', read: (c) => c.startTimeoutS, alt: 7 },
  { program: 'boot', flag: 'wait-timeout', read: (c) => c.waitTimeoutS, alt: 7 },
  { program: 'boot', flag: 'rebuild-grace', read: (c) => c.rebuildGraceS, alt: 7 },
  { program: 'boot', flag: 'heal-interval', read: (c) => c.healIntervalS, alt: 7 },
  { program: 'boot', flag: 'leave-timeout', read: (c) => c.leaveTimeoutS, alt: 7 },
  { program: 'boot', flag: 'join-stall-timeout', read: (c) => c.joinStallS, alt: 7 },
  { program: 'boot', flag: 'auto-recover', read: (c) => c.autoRecover, alt: false },
  { program: 'boot', flag: 'quorum-loss-grace', read: (c) => c.quorumLossGraceS, alt: 7 },
  { program: 'boot', flag: 'pod-gone-grace', read: (c) => c.podGoneGraceS, alt: 7 },
  { program: 'boot', flag: 'auto-compaction-retention', read: (c) => c.autoCompactionRetention, alt: '30m' },
  { program: 'boot', flag: 'defrag-threshold', read: (c) => c.defragThresholdPct, alt: 70 },
  { program: 'boot', flag: 'defrag-min-size', read: (c) => Number(c.defragMinBytes) / 1024 / 1024, alt: 7 },
  {
    program: 'boot',
    flag: 's3-folder',
    read: (c) => (c.restoreS3 as Record<string, unknown> | undefined)?.folder ?? '',
    alt: 'backups/',
    input: raw({ 's3-bucket': 'snaps' }),
  },
  {
    program: 'boot',
    flag: 's3-region',
    read: (c) => (c.restoreS3 as Record<string, unknown> | undefined)?.region ?? 'us-east-1',
    alt: 'eu-west-1',
    input: raw({ 's3-bucket': 'snaps' }),
  },
  { program: 'boot', flag: 'restore-prefix', read: (c) => c.restorePrefix, alt: 'other' },
  { program: 'boot', flag: 'etcdutl-binary', read: (c) => c.etcdutlBinary, alt: '/usr/bin/etcdutl' },
  ...tlsDefaultRows('boot'),
  { program: 'boot', flag: 'auth', read: (c) => (c.auth as Record<string, unknown>).enabled, alt: true },
  {
    program: 'boot',
    flag: 'root-password-file',
    read: (c) => (c.auth as Record<string, unknown>).rootPasswordFile,
    alt: '/p',
  },
  { program: 'boot', flag: 'app-user-dir', read: (c) => (c.auth as Record<string, unknown>).appUserDir, alt: '/a' },
  {
    program: 'boot',
    flag: 'app-password-file',
    read: (c) => (c.auth as Record<string, unknown>).appPasswordFile,
    alt: '/q',
  },
  { program: 'boot', flag: 'log-level', read: (c) => c.logLevel, alt: 'debug' },
  { program: 'boot', flag: 'log-format', read: (c) => c.logFormat, alt: 'text' },
  { program: 'discovery', flag: 'cluster-size', read: (c) => c.clusterSize, alt: 5 },
  { program: 'discovery', flag: 'allow-even-size', read: evenAccepted, alt: true, input: raw({ 'cluster-size': '4' }) },
  { program: 'discovery', flag: 'client-port', read: (c) => c.clientPort, alt: 3381 },
  { program: 'discovery', flag: 'peer-port', read: (c) => c.peerPort, alt: 3382 },
  { program: 'discovery', flag: 'data-dir', read: (c) => c.dataDir, alt: '/data' },
  { program: 'discovery', flag: 'token-file', read: (c) => c.tokenFile, alt: '/tmp/token' },
  { program: 'discovery', flag: 'token-secret', read: (c) => c.tokenSecret, alt: 'other-secret' },
  { program: 'discovery', flag: 'etcd-binary', read: (c) => c.etcdBinary, alt: '/usr/bin/etcd' },
  { program: 'discovery', flag: 'http-port', read: (c) => c.httpPort, alt: 9081 },
  { program: 'discovery', flag: 'start-timeout', read: (c) => c.startTimeoutS, alt: 7 },
  ...tlsDefaultRows('discovery'),
  { program: 'discovery', flag: 'auth', read: (c) => (c.auth as Record<string, unknown>).enabled, alt: true },
  { program: 'discovery', flag: 'root-secret', read: (c) => (c.auth as Record<string, unknown>).rootSecret, alt: 'r' },
  { program: 'discovery', flag: 'app-secret', read: (c) => (c.auth as Record<string, unknown>).appSecret, alt: 'a' },
  { program: 'discovery', flag: 'ca-secret', read: (c) => c.caSecret, alt: 'my-ca' },
  { program: 'discovery', flag: 'client-secret', read: (c) => c.clientSecret, alt: 'my-client' },
  { program: 'discovery', flag: 'create-tls-secrets', read: (c) => c.createTlsSecrets, alt: false },
  {
    program: 'discovery',
    flag: 'client-cert-lifetime',
    read: (c) => `${Number(c.clientCertLifetimeMs) / 86_400_000}d`,
    alt: '30d',
  },
  { program: 'discovery', flag: 'etcd-metrics-port', read: (c) => c.etcdMetricsPort, alt: 3383 },
  { program: 'discovery', flag: 'cluster-domain', read: (c) => c.clusterDomain, alt: 'example.org' },
  { program: 'discovery', flag: 'log-level', read: (c) => c.logLevel, alt: 'debug' },
  { program: 'discovery', flag: 'log-format', read: (c) => c.logFormat, alt: 'text' },
];
for (const program of ['boot', 'discovery'] as const) {
  test(`defaults (${program}): every typed default in the table has a row here`, () => {
    const typed = programs[program].filter((s: OptionSpec) => s.default !== undefined).map((s) => s.flag);
    assert.equal(
      defaultRows.filter((r) => r.program === program).map((r) => r.flag),
      typed,
    );
  });
}
for (const r of defaultRows) {
  test(`defaults (${r.program}): --${r.flag} defaults to the table's value`, () => {
    const row = programs[r.program].find((s) => s.flag === r.flag) as { default?: unknown };
    const before = validate(r.program, r.input ?? {});
    assert.is(r.read(before), row.default, String(before.error ?? ''));
    const saved = row.default;
    row.default = r.alt;
    try {
      const after = validate(r.program, r.input ?? {});
      assert.is(r.read(after), r.alt, String(after.error ?? ''));
    } finally {
      row.default = saved;
    }
  });
}

test('defaults: reading a default the table lacks is a bug in the table, not a config problem', () => {
  const rows = [
    { flag: 'port', type: 'number', describe: 'x' },
    { flag: 'size', type: 'number', default: 1, describe: 'x' },
  ] as const;
  const opt = new OptionReader(rows, {}, new Problems());
  assert.throws(() => opt.int('port', 1, 9), /option table: --port has no number default/);
  assert.throws(() => opt.str('size'), /option table: --size has no string default/);
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
