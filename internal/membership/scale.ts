// PURE: scale-down steps. The members whose StatefulSet ordinal is at or beyond the new replicas go,
// one at a time, each removal keeping a healthy majority; a leaving leader hands leadership to a
// member that stays first.
import { canRemove, type MemberView, type Removal } from './decide.ts';

/** The ordinal of a StatefulSet pod name `<set>-<n>`, or undefined for another set's or no ordinal. */
export function ordinalIn(name: string, set: string): number | undefined {
  const m = /^(.+)-(\d+)$/.exec(name);
  return m && m[1] === set ? Number(m[2]) : undefined;
}

/**
 * Whether the pod with this ordinal goes in a scale to `replicas`. A scale to 0 keeps ordinal 0: the
 * last member cannot remove itself, so the cluster sleeps with its data (on a persistent volume) and
 * resumes when scaled back.
 */
export function isLeaving(ordinal: number | undefined, replicas: number): boolean {
  return (ordinal ?? -1) >= Math.max(1, replicas);
}

/**
 * The next step of a scale-down to `replicas` (members named <set>-<n> with n >= replicas go, see isLeaving):
 * first move leadership off a leaving leader to a healthy staying voter, then remove one leaving
 * member that can go without losing quorum (learners and unhealthy ones first, then the highest
 * ordinal). Undefined when nothing is to do or nothing can go safely yet.
 */
export function scaleDownStep(
  members: MemberView[],
  leader: string,
  set: string,
  replicas: number,
): { kind: 'move-leader'; to: string } | { kind: 'remove'; removal: Removal } | undefined {
  const leaving = (m: MemberView) => isLeaving(ordinalIn(m.name, set), replicas);
  const going = members.filter(leaving);
  if (!going.length) return undefined;
  if (going.some((m) => m.id === leader)) {
    const to = members.find((m) => !leaving(m) && !m.isLearner && m.healthy);
    if (to) return { kind: 'move-leader', to: to.id };
  }
  const order = [...going].sort(
    (a, b) =>
      Number(b.isLearner) - Number(a.isLearner) ||
      Number(a.healthy) - Number(b.healthy) ||
      (ordinalIn(b.name, set) ?? 0) - (ordinalIn(a.name, set) ?? 0),
  );
  const next =
    order.find((m) => m.id !== leader && canRemove(members, m.id)) ?? order.find((m) => canRemove(members, m.id));
  return next && { kind: 'remove', removal: { id: next.id, name: next.name, why: 'scale-down' } };
}
