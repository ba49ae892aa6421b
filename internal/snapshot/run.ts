// The snapshot program: pick a healthy member (a follower when there is one), stream its database
// through etcd's maintenance API into the store's staging file, check it (our sha256 check, then
// etcdutl's status for revision and hash), keep it under <prefix>-<time>.db, apply retention, and log
// one summary line. Nothing is kept unless every check passed.
import type { SnapshotConfig } from '../config/snapshot.ts';
import { DeisError } from '../errors.ts';
import type { EtcdApi } from '../etcd/client.ts';
import type { Runtime } from '../runtime.ts';
import type { SnapshotStatus } from '../supervisor/etcdutl.ts';
import type { SnapshotStore } from './dir-store.ts';
import { verifySnapshotFile } from './integrity.ts';
import { expired, snapshotName } from './names.ts';

export interface SnapshotDeps extends Runtime {
  cfg: SnapshotConfig;
  connect: (endpoints: string[]) => EtcdApi;
  store: SnapshotStore;
  /** etcdutl snapshot status of a local file. */
  status: (file: string) => Promise<SnapshotStatus>;
}

/** The member to snapshot: a healthy follower (lowest name) if any, else the healthy leader. */
export async function pickSource(etcd: EtcdApi): Promise<{ id: string; name: string; url: string; leader: boolean }> {
  const { members } = await etcd.memberList();
  const seen: { id: string; name: string; url: string; leader: boolean }[] = [];
  for (const m of members.filter((x) => !x.isLearner && x.clientUrls[0])) {
    try {
      const st = await etcd.status(m.clientUrls[0]!);
      if (st.leader === '0') continue;
      seen.push({ id: m.id, name: m.name, url: m.clientUrls[0]!, leader: st.leader === m.id });
    } catch {
      /* not answering: not a source */
    }
  }
  seen.sort((a, b) => Number(a.leader) - Number(b.leader) || (a.name < b.name ? -1 : 1));
  const pick = seen[0];
  if (!pick) throw new DeisError('unreachable', 'no healthy member to snapshot: every voter failed its status call');
  return pick;
}

/** Takes, checks and keeps one snapshot, then applies retention; returns 0. */
export async function runSnapshot(d: SnapshotDeps): Promise<number> {
  const { cfg, clock, log, store } = d;
  const started = clock.now();
  const etcd = d.connect([...cfg.endpoints]);
  try {
    const src = await pickSource(etcd);
    const name = snapshotName(cfg.prefix, clock.now());
    log.info('snapshot started', { member: src.name, memberId: src.id, leader: src.leader, to: store.where });
    const staged = await store.stage(etcd.snapshot(src.url), name);
    let status: SnapshotStatus;
    try {
      await verifySnapshotFile(staged.path);
      status = await d.status(staged.path);
    } catch (err) {
      await store.discard(staged.path);
      throw err;
    }
    const key = await store.commit(staged.path, name);
    const removed: string[] = [];
    for (const old of expired(cfg.prefix, await store.list(), clock.now(), cfg.keep, cfg.maxAgeHours)) {
      await store.remove(old);
      log.info('snapshot deleted', { key: old, why: 'retention' });
      removed.push(old);
    }
    log.info('snapshot saved', {
      key,
      size: staged.bytes,
      revision: status.revision,
      hash: status.hash,
      keys: status.totalKey,
      member: src.name,
      deleted: removed.length,
      tookMs: clock.now() - started,
    });
    return 0;
  } finally {
    etcd.close();
  }
}
