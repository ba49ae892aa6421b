// The chaos suite's checker (build/tools/porcupine) on small histories whose verdict is known: it
// must accept what a linearizable store may answer and reject a stale read, and it must treat a put
// without an answer as possibly applied, at any time after its call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkLinearizable } from '../chaos/check.ts';
import type { Op } from '../chaos/workload.ts';

const put = (
  client: number,
  key: string,
  value: string,
  call: number,
  ret: number,
  out: Op['output'] = { ok: true },
): Op => ({ client, input: { op: 'put', key, value }, output: out, call, return: ret });
const get = (client: number, key: string, value: string | null, call: number, ret: number): Op => ({
  client,
  input: { op: 'get', key },
  output: { ok: true, value },
  call,
  return: ret,
});

const rows: { name: string; history: Op[]; want: boolean }[] = [
  { name: 'a read after an acked put sees it', want: true, history: [put(0, 'a', '1', 1, 5), get(1, 'a', '1', 6, 7)] },
  {
    name: 'a read after an acked put that misses it is a stale read',
    want: false,
    history: [put(0, 'a', '1', 1, 5), get(1, 'a', null, 6, 7)],
  },
  {
    name: 'a read concurrent with the put may see either',
    want: true,
    history: [put(0, 'a', '1', 1, 5), get(1, 'a', null, 2, 3), get(2, 'a', '1', 4, 6)],
  },
  {
    name: 'an unknown put may apply after later reads missed it',
    want: true,
    history: [put(0, 'a', '1', 1, 5, { ok: false, unknown: true }), get(1, 'a', null, 6, 7), get(1, 'a', '1', 8, 9)],
  },
  {
    name: 'a failed put may apply too (etcd may have committed it)',
    want: true,
    history: [put(0, 'a', '1', 1, 5, { ok: false, error: 'GRPCUnavailableError' }), get(1, 'a', '1', 8, 9)],
  },
  {
    name: 'once read, a value cannot vanish',
    want: false,
    history: [put(0, 'a', '1', 1, 5, { ok: false, unknown: true }), get(1, 'a', '1', 6, 7), get(1, 'a', null, 8, 9)],
  },
  {
    name: 'an overwritten value read after the overwrite is a stale read',
    want: false,
    history: [put(0, 'r', '1', 1, 2), put(1, 'r', '2', 3, 4), get(2, 'r', '1', 5, 6)],
  },
  {
    name: 'concurrent overwrites may land in either order, but reads agree on one',
    want: false,
    history: [
      put(0, 'r', '1', 1, 4),
      put(1, 'r', '2', 1, 4),
      get(2, 'r', '1', 5, 6),
      get(2, 'r', '2', 7, 8),
      get(3, 'r', '1', 9, 10),
    ],
  },
  {
    name: 'keys are independent',
    want: true,
    history: [put(0, 'a', '1', 1, 2), put(0, 'b', '2', 3, 4), get(1, 'a', '1', 5, 6), get(1, 'b', '2', 5, 6)],
  },
];

for (const row of rows) {
  test(row.name, async () => {
    const v = await checkLinearizable(row.history, 10);
    assert.is(v.linearizable, row.want);
  });
}

test.run();
