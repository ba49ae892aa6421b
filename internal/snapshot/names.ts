// PURE: snapshot names and retention. A snapshot is `<prefix>-<UTC time>.db`, the time as
// YYYYMMDDTHHMMSSZ, so that names sort by age and `latest` is the greatest name with the prefix.

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The name of a snapshot taken at `at` (epoch ms). */
export function snapshotName(prefix: string, at: number): string {
  const stamp = new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `${prefix}-${stamp}.db`;
}

/** When a snapshot with this prefix was taken (epoch ms); undefined for any other name. */
export function takenAt(prefix: string, name: string): number | undefined {
  if (!name.startsWith(`${prefix}-`) || !name.endsWith('.db')) return undefined;
  const m = STAMP.exec(name.slice(prefix.length + 1, -3));
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

/** This prefix's snapshots among `names`, newest first. */
export function snapshotsOf(prefix: string, names: readonly string[]): string[] {
  return names.filter((n) => takenAt(prefix, n) !== undefined).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/**
 * Which of this prefix's snapshots to delete: all but the newest `keep`, and those older than
 * `maxAgeHours` (0: no limit); the newest is never deleted, so a failing schedule cannot empty the store.
 */
export function expired(
  prefix: string,
  names: readonly string[],
  now: number,
  keep: number,
  maxAgeHours: number,
): string[] {
  const mine = snapshotsOf(prefix, names);
  return mine.filter(
    (n, i) => i > 0 && (i >= keep || (maxAgeHours > 0 && now - takenAt(prefix, n)! > maxAgeHours * 3_600_000)),
  );
}
