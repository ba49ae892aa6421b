// uvu has no async throws: rejects(p, pattern-or-predicate) fails unless p rejects with a match.
import * as assert from 'uvu/assert';

export async function rejects(p: Promise<unknown>, want: RegExp | ((err: unknown) => boolean)): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    const ok = want instanceof RegExp ? want.test(err instanceof Error ? err.message : String(err)) : want(err);
    assert.ok(ok, `rejected with a different error: ${err instanceof Error ? err.message : String(err)}`);
    return err;
  }
  assert.unreachable('expected a rejection');
}
