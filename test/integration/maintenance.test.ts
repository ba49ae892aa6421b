// The leader's maintenance pass against real etcd through the boot program: a member with a tiny
// --quota-backend-bytes is filled by a bounded write loop until etcd raises NOSPACE and refuses writes;
// without a person, the pass compacts, defragments and disarms, writes resume, and /metrics says so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { startBoot, startDiscovery, waitReady, type BootProcess, type DiscoveryProcess } from '../world/programs.ts';
import { tempDir, waitFor } from '../world/procs.ts';

const logDir = tempDir();
let disc: DiscoveryProcess;
let boot: BootProcess;
const QUOTA = 4 * 1024 * 1024;

test.before(async () => {
  disc = await startDiscovery({ size: 1, logDir });
  boot = await startBoot({
    name: 'etcd-0',
    discovery: disc,
    logDir,
    size: 1,
    env: { ETCD_QUOTA_BACKEND_BYTES: String(QUOTA), DEIS_ETCD_HEAL_INTERVAL: '1' },
  });
  await waitReady(boot);
});
test.after(async () => {
  await boot?.proc.stop();
  await disc?.proc.stop();
});

test('etcd runs with periodic auto-compaction keeping 1h by default (its own start-up line says so)', () => {
  assert.match(boot.proc.log(), /auto-compaction-mode\W{1,6}periodic/);
  assert.match(boot.proc.log(), /auto-compaction-retention\W{1,6}1h0m0s/);
});

test('NOSPACE from a full quota is cleared by the maintenance pass and writes resume', async () => {
  const c = new Etcd3({ hosts: boot.clientUrl, dialTimeout: 2000 });
  try {
    const value = 'x'.repeat(256 * 1024);
    let refused = '';
    // each put of the same key keeps the old revision: the file grows until the quota (bounded: 200 puts)
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        await c.put('fill').value(value);
      } catch (err) {
        refused = String(err);
      }
    }
    assert.match(refused, 'database space exceeded', 'the write loop raised NOSPACE');
    await waitFor(
      'a write after the maintenance pass',
      async () => {
        try {
          await c.put('after').value('ok');
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      500,
    );
    assert.is(await c.get('fill').string(), value, 'the live value survived the compaction');
    const alarms = await c.maintenance.alarm({ action: 0, memberID: '0', alarm: 0 });
    assert.equal(alarms.alarms, [], 'no alarm left');
    const metrics = await (await fetch(`${boot.httpUrl}/metrics`)).text();
    assert.match(metrics, /deis_etcd_alarms_disarmed_total\{alarm="NOSPACE"\} [1-9]/);
    assert.match(metrics, /deis_etcd_defrags_total\{reason="nospace"\} [1-9]/);
    const st = await c.maintenance.status();
    assert.ok(Number(st.dbSize) < QUOTA, `the database shrank below the quota (${st.dbSize} bytes)`);
    assert.match(boot.proc.log(), /"alarm disarmed"/);
  } finally {
    c.close();
  }
});

test.run();
