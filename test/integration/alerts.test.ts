// The monitoring component's alert rules, checked by Prometheus' own promtool (built into the tool
// cache by `make tools`): the PrometheusRule's groups are extracted from the rendered component,
// `promtool check rules` lints them and `promtool test rules` runs test/alerts/rules.test.yaml (a
// firing and a silent case per alert). Also `promtool check metrics` on boot's /metrics text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { bootMetrics } from '../../internal/boot/metrics.ts';
import { tempDir } from '../world/procs.ts';
import { kubeTool, promtoolTool } from '../world/tools.ts';
import { repoRoot } from '../world/world.ts';

interface Ran {
  code: number;
  out: string;
}
function run(bin: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const p = execFile(bin, args, { cwd: opts.cwd, timeout: 60_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}${stderr}` }),
    );
    if (opts.input !== undefined) p.stdin!.end(opts.input);
  });
}

const dir = tempDir('deis-etcd-alerts-');
// biome-ignore lint/suspicious/noExplicitAny: rendered YAML of any shape, read by path in the assertions
type Obj = Record<string, any>;
let rendered: Obj[] = [];

test.before(async () => {
  // an overlay of the base with the component, rendered by the real kubectl's kustomize
  const overlay = join(dir, 'overlay');
  mkdirSync(overlay);
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'namespace: ops',
      'resources:',
      // kustomize takes relative paths only
      `  - ${relative(overlay, join(repoRoot, 'kustomize/base'))}`,
      'components:',
      `  - ${relative(overlay, join(repoRoot, 'kustomize/components/monitoring'))}`,
      '',
    ].join('\n'),
  );
  const r = await run(kubeTool('kubectl'), ['kustomize', overlay]);
  assert.is(r.code, 0, r.out);
  rendered = k8s.loadAllYaml(r.out) as Obj[];
  const rule = rendered.find((o) => o.kind === 'PrometheusRule');
  assert.ok(rule, 'the component renders a PrometheusRule');
  // JSON is YAML: promtool reads the groups as they are
  writeFileSync(join(dir, 'rules.yaml'), JSON.stringify({ groups: rule.spec.groups }, null, 2));
  copyFileSync(join(repoRoot, 'test/alerts/rules.test.yaml'), join(dir, 'rules.test.yaml'));
});

test('the component: a PodMonitor on the http and etcd-metrics ports, the StatefulSet names etcd-metrics', () => {
  const pm = rendered.find((o) => o.kind === 'PodMonitor');
  assert.equal(
    pm?.spec.podMetricsEndpoints.map((e: Obj) => e.port),
    ['http', 'etcd-metrics'],
  );
  const sts = rendered.find((o) => o.kind === 'StatefulSet');
  assert.ok(
    sts?.spec.template.spec.containers[0].ports.some((p: Obj) => p.name === 'etcd-metrics' && p.containerPort === 2381),
  );
});

test('promtool check rules: the rules parse and lint clean', async () => {
  const r = await run(promtoolTool(), ['check', 'rules', '--lint-fatal', join(dir, 'rules.yaml')]);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 6 rules found/);
});

test('promtool test rules: every alert fires when it should and not otherwise', async () => {
  const r = await run(promtoolTool(), ['test', 'rules', 'rules.test.yaml'], { cwd: dir });
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('every alert has a unit test', () => {
  const tests = readFileSync(join(dir, 'rules.test.yaml'), 'utf8');
  const rule = rendered.find((o) => o.kind === 'PrometheusRule')!;
  const alerts = (rule.spec.groups as Obj[]).flatMap((g) => g.rules.map((x: Obj) => x.alert as string));
  assert.equal(
    alerts.filter((a) => !new RegExp(`alertname: ${a}$`, 'm').test(tests)),
    [],
  );
});

test("promtool check metrics: boot's /metrics text is valid exposition format", async () => {
  const m = bootMetrics();
  m.set('deis_etcd_up', 1);
  m.set('deis_etcd_quorum', 1);
  m.change('add');
  m.inc('deis_etcd_events_total', { reason: 'MemberJoined' });
  m.observe('deis_etcd_join_duration_seconds', 3.2);
  m.observe('deis_etcd_heal_duration_seconds', 35);
  const r = await run(promtoolTool(), ['check', 'metrics'], { input: m.render() });
  assert.is(r.code, 0, r.out);
});

test.run();
