// The node agent's reading of resources.limits.memory (Kubernetes quantities) into cgroup bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuantity } from '../world/node-agent/cgroup.ts';

const rows: { name: string; input: string; want: number | RegExp }[] = [
  { name: 'binary Mi', input: '128Mi', want: 128 * 2 ** 20 },
  { name: 'binary Gi', input: '1Gi', want: 2 ** 30 },
  { name: 'binary Ki', input: '512Ki', want: 512 * 1024 },
  { name: 'decimal M', input: '500M', want: 500e6 },
  { name: 'decimal k', input: '1k', want: 1000 },
  { name: 'plain bytes', input: '123456', want: 123456 },
  { name: 'exponent', input: '1e6', want: 1e6 },
  { name: 'fraction rounds up', input: '1.5Ki', want: 1536 },
  { name: 'unknown unit', input: '12MB', want: /not one of/ },
  { name: 'negative', input: '-1Mi', want: /not one of/ },
  { name: 'empty', input: '', want: /not one of/ },
];
for (const r of rows) {
  test(r.name, () => {
    if (typeof r.want === 'number') assert.is(parseQuantity(r.input), r.want);
    else assert.throws(() => parseQuantity(r.input), r.want);
  });
}
test.run();
