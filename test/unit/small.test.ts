// Small pure pieces: the registry's wire format, tokens, logger redaction, retries on a fake clock,
// identity fallbacks, initial-cluster strings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRegistration, registryKeys } from '../../internal/discovery/registry.ts';
import { checkToken, generateToken, resolveToken } from '../../internal/discovery/token.ts';
import { memoryLogger } from '../fakes/log.ts';
import { retry } from '../../internal/retry.ts';
import { fakeClock } from '../fakes/clock.ts';
import { DeisError } from '../../internal/errors.ts';
import { advertiseAddress, statefulSetOrdinal } from '../../internal/identity/identity.ts';
import { initialCluster } from '../../internal/supervisor/etcd-args.ts';

test('registry keys follow etcd v3 discovery', () => {
  const k = registryKeys('tok');
  assert.is(k.size, '/_etcd/registry/tok/_config/size');
  assert.is(k.member('8e9e05c52164694d'), '/_etcd/registry/tok/members/8e9e05c52164694d');
  assert.equal(parseRegistration('ab', 'etcd-0=http://10.0.0.1:2380', 7), {
    id: 'ab',
    name: 'etcd-0',
    peerUrls: ['http://10.0.0.1:2380'],
    createRevision: 7,
  });
});

test('tokens: trimmed, checked, generated', async () => {
  assert.is(checkToken('  abc-1.2_x\n', 'f'), 'abc-1.2_x');
  for (const bad of ['', '  ', 'a/b', '../x', 'a b', '-x']) assert.throws(() => checkToken(bad, 'f'));
  assert.match(generateToken(), /^[0-9a-f]{32}$/);
  assert.is.not(generateToken(), generateToken());
  const fromSecret = await resolveToken(
    { tokenFile: '/nope', tokenSecret: 's' },
    { readFile: async () => undefined, secret: async (_n, gen) => gen() },
  );
  assert.is(fromSecret.source, 'secret');
});

test('the logger redacts token fields and keeps the rest', () => {
  const log = memoryLogger();
  log.child({ pod: 'p' }).info('x', { token: 'SECRET', memberId: 'a1' });
  assert.equal([log.entries[0]!.token, log.entries[0]!.memberId, log.entries[0]!.pod], ['[redacted]', 'a1', 'p']);
});

test('retry backs off exponentially on retryable errors and gives up', async () => {
  const clock = fakeClock();
  let calls = 0;
  try {
    await retry(
      'op',
      async () => {
        calls++;
        throw new DeisError('unreachable', 'down');
      },
      { clock, log: memoryLogger(), attempts: 4, baseMs: 100, maxMs: 250 },
    );
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, 'gave up after 4 attempts');
  }
  assert.is(calls, 4);
  assert.equal(clock.sleeps, [100, 200, 250]);
});

test('retry does not retry a non-retryable error', async () => {
  let calls = 0;
  await retry(
    'op',
    async () => {
      calls++;
      throw new DeisError('config', 'bad');
    },
    { clock: fakeClock(), log: memoryLogger() },
  ).catch(() => undefined);
  assert.is(calls, 1);
});

test('identity: configured address, interface fallback, clear error', () => {
  assert.is(advertiseAddress('10.0.0.5', {}).host, '10.0.0.5');
  assert.is(
    advertiseAddress(undefined, {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true } as never],
      eth0: [{ address: '10.1.1.1', family: 'IPv4', internal: false } as never],
    }).host,
    '10.1.1.1',
  );
  assert.throws(() => advertiseAddress(undefined, {}), /POD_IP/);
  assert.equal(statefulSetOrdinal('deis-etcd-12'), { set: 'deis-etcd', ordinal: 12 });
});

test('initial-cluster lists every member, me under my name, unstarted ones with a placeholder', () => {
  const s = initialCluster(
    [
      { id: 'a', name: 'etcd-1', peerUrls: ['http://10.0.0.1:2380'] },
      { id: 'b', name: '', peerUrls: ['http://10.0.0.9:2380'] },
      { id: 'c', name: '', peerUrls: ['http://10.0.0.2:2380'] },
    ],
    'c',
    { name: 'etcd-2', peerUrl: 'http://10.0.0.2:2380' },
  );
  assert.is(s, 'etcd-1=http://10.0.0.1:2380,unstarted-b=http://10.0.0.9:2380,etcd-2=http://10.0.0.2:2380');
});

test('the child log limiter lets 5 repeats a second through and reports what it dropped', async () => {
  const { repeatLimiter } = await import('../../internal/supervisor/supervisor.ts');
  let t = 10_000;
  const limit = repeatLimiter(() => t, 5);
  const got = Array.from({ length: 8 }, () => limit('warn:same'));
  assert.equal(got, [0, 0, 0, 0, 0, undefined, undefined, undefined]);
  assert.is(limit('warn:other'), 0, 'another message is not limited');
  t += 1000;
  assert.is(limit('warn:same'), 3, 'the next second reports the 3 dropped');
});

test.run();
