// Renewal on fakes: LeafKeeper writes ca.crt, tls.crt and tls.key, renews at the planned time with a
// new serial, and a renewing client sends calls after a renewal through a new client (the old one
// closed later).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EtcdApi } from '../../internal/etcd/client.ts';
import { renewingClient } from '../../internal/tls/renewing-client.ts';
import { LeafKeeper } from '../../internal/tls/pki.ts';
import { certInfo, createCa } from '../../internal/tls/x509.ts';
import { fakeClock } from '../fakes/clock.ts';
import { memoryFiles } from '../fakes/files.ts';
import { memoryLogger } from '../fakes/log.ts';

const HOUR = 3_600_000;

async function keeper() {
  const clock = fakeClock(Date.now());
  const files = memoryFiles();
  const log = memoryLogger();
  const k = new LeafKeeper({
    ca: await createCa('ca', 1000 * HOUR),
    request: { commonName: 'etcd-0', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
    lifetimeMs: 72 * HOUR,
    renewBeforeMs: 24 * HOUR,
    dir: '/tls',
    files,
    clock,
    log,
  });
  return { k, clock, files, log };
}

test('issue writes the three files; run renews 24 h ahead of a 72 h certificate, with a new serial', async () => {
  const { k, clock, files, log } = await keeper();
  const first = await k.issue();
  const t0 = clock.now();
  assert.equal([...files.tree.keys()].sort(), ['/tls/ca.crt', '/tls/tls.crt', '/tls/tls.key']);
  assert.is(certInfo(files.tree.get('/tls/tls.crt')!).serial, first.serial);
  const stop = new AbortController();
  const sleeps: number[] = [];
  // the fake clock returns at once: stop after the second sleep
  const orig = clock.sleep.bind(clock);
  clock.sleep = async (ms, signal) => {
    sleeps.push(ms);
    clock.advance(ms);
    if (sleeps.length >= 2) stop.abort();
    return orig(0, signal);
  };
  await k.run(stop.signal);
  // renewal planned at notAfter - 24 h (after halfway): the first sleep lasts until then
  assert.is(sleeps[0], first.notAfter - 24 * HOUR - t0);
  const renewed = k.info()!;
  assert.is.not(renewed.serial, first.serial);
  assert.is(certInfo(files.tree.get('/tls/tls.crt')!).serial, renewed.serial);
  assert.ok(log.messages().includes('certificate renewed'));
});

test('a renewing client: calls after a renewal go through a new client; the old one is closed later', async () => {
  const { k } = await keeper();
  await k.issue();
  const made: { id: number; closed: boolean }[] = [];
  const make = () => {
    const me = { id: made.length, closed: false };
    made.push(me);
    return {
      get: async () => ({ key: 'k', value: String(me.id), createRevision: 1, modRevision: 1 }),
      close: () => {
        me.closed = true;
      },
    } as unknown as EtcdApi;
  };
  const pending: (() => void)[] = [];
  const c = renewingClient(make, k, (fn) => pending.push(fn));
  assert.is((await c.get('k'))?.value, '0');
  await k.issue();
  assert.is((await c.get('k'))?.value, '1', 'the next call uses a client with the new certificate');
  assert.is(made[0]!.closed, false, 'the old client is not closed at once');
  for (const fn of pending) fn();
  assert.is(made[0]!.closed, true);
  c.close();
  assert.is(made[1]!.closed, true);
  await k.issue();
  assert.is(made.length, 2, 'no new client after close');
});

test.run();
