// The snapshot program's pure parts: names and retention as tables, its config validation, the
// multi-call dispatch, and the integrity check over real temp files (whole, truncated, altered).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expired, snapshotName, snapshotsOf, takenAt } from '../../internal/snapshot/names.ts';
import { verifySnapshotFile } from '../../internal/snapshot/integrity.ts';
import { validateSnapshot } from '../../internal/config/snapshot.ts';
import type { RawOptions } from '../../internal/config/options.ts';
import { choose } from '../../cmd/deis-etcd/cli.ts';
import { DeisError } from '../../internal/errors.ts';

const at = Date.UTC(2026, 10, 30, 11, 42, 7, 512);
const H = 3_600_000;

test('names: <prefix>-<UTC time>.db, read back to the second; other names are not ours', () => {
  assert.is(snapshotName('deis-etcd', at), 'deis-etcd-20261130T114207Z.db');
  assert.is(takenAt('deis-etcd', 'deis-etcd-20261130T114207Z.db'), at - 512);
  for (const n of ['deis-etcd-20261130T114207Z.db.part', 'other-20261130T114207Z.db', 'deis-etcd-latest.db'])
    assert.is(takenAt('deis-etcd', n), undefined, n);
  assert.equal(snapshotsOf('p', ['p-20200101T000000Z.db', 'x', 'p-20210101T000000Z.db']), [
    'p-20210101T000000Z.db',
    'p-20200101T000000Z.db',
  ]);
});

const at0 = at - 512; // names count whole seconds
const names = [0, 1, 2, 3, 4].map((h) => snapshotName('p', at0 - h * H)); // newest first
const retentionRows: { name: string; keep: number; maxAge: number; want: string[] }[] = [
  { name: 'keep 3 of 5', keep: 3, maxAge: 0, want: names.slice(3) },
  { name: 'keep more than there are', keep: 9, maxAge: 0, want: [] },
  { name: 'max age 2 h (exactly 2 h old stays)', keep: 9, maxAge: 2, want: names.slice(3) },
  { name: 'keep 1 deletes all but the newest', keep: 1, maxAge: 0, want: names.slice(1) },
  { name: 'the newest survives any age limit', keep: 9, maxAge: 1, want: names.slice(2) },
];
for (const r of retentionRows) {
  test(`retention: ${r.name}`, () => {
    const all = [...names, 'other-20200101T000000Z.db', '.p-20200101T000000Z.db.part'];
    assert.equal(expired('p', all, at0, r.keep, r.maxAge).sort(), [...r.want].sort());
  });
}
test('retention: with every snapshot older than the limit, the newest is still kept', () => {
  assert.equal(expired('p', names, at0 + 100 * H, 9, 1), names.slice(1));
});

const raw = (o: Record<string, string>): RawOptions =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, source: `--${k}` }]));
const configError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.instance(err, DeisError);
    assert.is((err as DeisError).code, 'config');
    return (err as Error).message;
  }
  throw new Error('expected a config error');
};

test('config: endpoints from the Service env, defaults', () => {
  const c = validateSnapshot(raw({ dir: '/snap' }), {
    DEIS_ETCD_SERVICE_HOST: '10.0.0.5',
    DEIS_ETCD_SERVICE_PORT: '2379',
  });
  assert.equal(c.endpoints, ['http://10.0.0.5:2379']);
  assert.is(c.keep, 7);
  assert.is(c.maxAgeHours, 0);
  assert.is(c.prefix, 'deis-etcd');
});

test('config: every problem at once (no endpoints, no dir, a bad prefix, keep 0)', () => {
  const msg = configError(() => validateSnapshot(raw({ prefix: 'Bad/Prefix', keep: '0' }), {}));
  for (const want of ['--endpoints', '--dir', '--prefix must be', '--keep must be an integer from 1'])
    assert.match(msg, want);
});

test('dispatch: /bin/snapshot and `deis-etcd snapshot` run the snapshot program', () => {
  assert.equal(choose(['/bin/snapshot'], ['--help']), { kind: 'run', program: 'snapshot', argv: ['--help'] });
  assert.equal(choose(['/bin/deis-etcd'], ['snapshot', '--keep', '3']), {
    kind: 'run',
    program: 'snapshot',
    argv: ['--keep', '3'],
  });
});

const dir = mkdtempSync(join(tmpdir(), 'deis-snap-'));
const db = Buffer.alloc(4096 * 3, 7);
const whole = Buffer.concat([db, createHash('sha256').update(db).digest()]);
const file = (name: string, content: Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

test('integrity: a whole snapshot passes and reports its size', async () => {
  assert.is(await verifySnapshotFile(file('ok.db', whole)), whole.length);
});

const badRows: { name: string; content: Buffer; want: string }[] = [
  { name: 'truncated inside the database', content: whole.subarray(0, 5000), want: 'truncated' },
  { name: 'without its hash', content: db, want: 'truncated' },
  {
    name: 'one byte altered',
    content: Buffer.concat([Buffer.from([8]), whole.subarray(1)]),
    want: 'sha256 does not match',
  },
  { name: 'empty', content: Buffer.alloc(0), want: 'only 0 bytes' },
];
for (const r of badRows) {
  test(`integrity: a snapshot ${r.name} is refused with one line`, async () => {
    const p = file(`${r.name.replaceAll(' ', '-')}.db`, r.content);
    try {
      await verifySnapshotFile(p);
    } catch (err) {
      assert.instance(err, DeisError);
      assert.match((err as Error).message, r.want);
      assert.not.match((err as Error).message, '\n');
      return;
    }
    assert.unreachable('accepted');
  });
}

test('integrity: a missing file is an environment error naming it', async () => {
  try {
    await verifySnapshotFile(join(dir, 'nope.db'));
  } catch (err) {
    assert.is((err as DeisError).code, 'environment');
    assert.match((err as Error).message, 'nope.db');
    return;
  }
  assert.unreachable('accepted');
});

test.run();
