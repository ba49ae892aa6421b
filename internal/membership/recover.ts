// PURE: whether a member without quorum should force a new cluster. Only when a majority of voters
// is gone for good (their pods were scaled away: ordinal >= replicas, or their pods came back without
// the member's data and announced so: an emptyDir or a deleted volume), the survivors had no quorum
// for the grace period, and this member is the most up-to-date reachable survivor (highest raft
// index; the lowest ID breaks a tie). Never while a lost voter may still come back.
import { ordinalIn } from './scale.ts';

export interface VoterView {
  id: string;
  name: string;
  /** Answered a status call just now. */
  reachable: boolean;
  /** Its raft index (from status); 0 when unreachable. */
  raftIndex: number;
  /** Its pod runs without the member's data (announced in the registry): its data is gone for good. */
  noData?: boolean | undefined;
}

export interface QuorumInput {
  me: string;
  voters: VoterView[];
  /** The StatefulSet and its replicas; undefined without Kubernetes. */
  set: string | undefined;
  replicas: number | undefined;
  lostForMs: number;
  graceMs: number;
  autoRecover: boolean;
}

export type QuorumPlan =
  | { kind: 'wait'; reason: string }
  | { kind: 'recover'; lost: string[]; survivors: { name: string; raftIndex: number }[]; reason: string };

export function quorumRecovery(q: QuorumInput): QuorumPlan {
  const lost = q.voters.filter((v) => !v.reachable);
  const survivors = q.voters.filter((v) => v.reachable);
  const names = (vs: VoterView[]) => vs.map((v) => v.name || v.id).join(', ');
  if (survivors.length > q.voters.length / 2)
    return { kind: 'wait', reason: 'a majority of voters answers: quorum should return by itself' };
  if (q.lostForMs < q.graceMs)
    return {
      kind: 'wait',
      reason: `no quorum for ${Math.round(q.lostForMs / 1000)} s; grace ${Math.round(q.graceMs / 1000)} s`,
    };
  if (!q.autoRecover)
    return {
      kind: 'wait',
      reason: `no quorum (lost: ${names(lost)}); automatic recovery is off (--auto-recover=false)`,
    };
  if (q.set === undefined || q.replicas === undefined)
    return {
      kind: 'wait',
      reason: 'no quorum, and without the StatefulSet it cannot be told whether the lost voters are gone for good',
    };
  const replicas = q.replicas;
  const mayReturn = lost.filter((v) => !v.noData && (ordinalIn(v.name, q.set!) ?? -1) < replicas);
  if (mayReturn.length) {
    return {
      kind: 'wait',
      reason:
        `no quorum; not recovering: ${names(mayReturn)} may come back with its data ` +
        '(its pod is within the replicas)',
    };
  }
  const best = [...survivors].sort((a, b) => b.raftIndex - a.raftIndex || a.id.localeCompare(b.id))[0];
  if (!best || best.id !== q.me)
    return {
      kind: 'wait',
      reason: `no quorum; ${best ? best.name : 'another survivor'} is the most up-to-date survivor and recovers`,
    };
  return {
    kind: 'recover',
    lost: lost.map((v) => v.name || v.id),
    survivors: survivors.map((v) => ({ name: v.name, raftIndex: v.raftIndex })),
    reason:
      `${lost.length} of ${q.voters.length} voters are gone for good (scaled away, or back without data) and ` +
      `there was no quorum for ${Math.round(q.lostForMs / 1000)} s`,
  };
}
