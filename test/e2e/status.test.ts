// `kubectl deis-etcd status` on the test world: the real kubectl finds the plugin (build/plugin/
// kubectl-deis_etcd) on PATH and runs it. Healthy -> 0 with the table; one member paused (SIGSTOP) ->
// 1 naming it; two of three paused -> 2; bad input (a namespace without a cluster, a wrong context, no
// permission) -> one line. The API server proxies only to global unicast pod IPs, never to this
// world's loopback pods: status (--via auto) reaches them directly after the pod proxy has said so,
// and --via proxy shows that answer as one line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { members, type Members } from '../helpers/members.ts';
import { tempDir, waitFor } from '../world/procs.ts';
import { kubeTool } from '../world/tools.ts';
import { repoRoot, startTestWorld, type TestWorld } from '../world/world.ts';

const ns = 'deis-etcd';
let world: TestWorld;
let m: Members;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kubectl deis-etcd ARGS` with the plugin and the world's kubectl on PATH; bounded to 60 s. */
function plugin(args: string[], kubeconfig = world.kubeconfig): Promise<Ran> {
  const PATH = [join(repoRoot, 'build/plugin'), dirname(kubeTool('kubectl')), '/usr/bin', '/bin'].join(':');
  return new Promise((resolve) => {
    execFile(
      kubeTool('kubectl'),
      ['deis-etcd', ...args],
      { env: { PATH, KUBECONFIG: kubeconfig, HOME: tempDir('deis-etcd-home-') }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs status until it exits with `want` (the cluster may still be settling), bounded. */
async function statusUntil(want: number, timeoutMs = 60_000): Promise<Ran> {
  let last: Ran | undefined;
  return waitFor(
    `status exit ${want}`,
    async () => {
      last = await plugin(['status', '-n', ns]);
      return last.code === want ? last : undefined;
    },
    timeoutMs,
    1000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; last: exit ${last?.code}\n${last?.stdout}${last?.stderr}`);
  });
}

test.before(async () => {
  world = await startTestWorld();
  m = members(world, ns);
  await world.kubectl(['apply', '-k', join(repoRoot, 'kustomize/overlays/local')]);
  await m.converged(3, { timeoutMs: 180_000 });
});
test.after(async () => {
  for (const p of ['deis-etcd-0', 'deis-etcd-1', 'deis-etcd-2']) {
    try {
      world?.faults.signal(ns, p, 'SIGCONT');
    } catch {
      /* not running */
    }
  }
  await world?.stop();
});

test('healthy: exit 0, one row per member with its role, a leader, heartbeats, no differences', async () => {
  const r = await statusUntil(0);
  assert.is(r.stderr, '');
  const rows = r.stdout.split('\n').filter((l) => /^deis-etcd-\d/.test(l));
  assert.is(rows.length, 3, r.stdout);
  assert.is(rows.filter((l) => / leader /.test(l)).length, 1, r.stdout);
  assert.is(rows.filter((l) => / follower /.test(l)).length, 2, r.stdout);
  for (const l of rows) assert.match(l, / yes .* 3\.\d+\.\d+ +\d+s ago$/);
  assert.match(r.stdout, /^members without pod: none$/m);
  assert.match(r.stdout, /^pods without member: none$/m);
  assert.match(r.stdout, /^learners: none$/m);
  assert.match(r.stdout, /^deis-etcd: healthy$/m);
});

test('-o json: the same look as data', async () => {
  const r = await plugin(['status', '-n', ns, '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { verdict: string; rows: { pod: string; memberId: string; healthy: boolean }[] };
  assert.is(j.verdict, 'healthy');
  assert.equal(
    j.rows.map((x) => [x.pod, x.healthy, /^[0-9a-f]+$/.test(x.memberId)]),
    [0, 1, 2].map((i) => [`deis-etcd-${i}`, true, true]),
  );
});

test('one member paused: exit 1 naming it; two paused: exit 2 (no quorum)', async () => {
  world.faults.signal(ns, 'deis-etcd-1', 'SIGSTOP');
  try {
    const one = await statusUntil(1, 30_000);
    assert.match(one.stdout, /^deis-etcd: degraded: .*deis-etcd-1: not healthy/m, one.stdout);
    world.faults.signal(ns, 'deis-etcd-2', 'SIGSTOP');
    const two = await statusUntil(2, 30_000);
    assert.match(two.stdout, /^deis-etcd: down: no quorum/m, two.stdout);
  } finally {
    world.faults.signal(ns, 'deis-etcd-1', 'SIGCONT');
    world.faults.signal(ns, 'deis-etcd-2', 'SIGCONT');
  }
  await m.converged(3, { timeoutMs: 120_000 });
  await statusUntil(0);
});

test("--via proxy: the API server's pod proxy resolves the pod, then refuses its loopback address: one line", async () => {
  const r = await plugin(['status', '-n', ns, '--via', 'proxy']);
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.is(r.stdout, '');
  assert.match(
    r.stderr,
    /^deis-etcd status: the API server does not proxy to pod deis-etcd-\d's address .*--via direct.*\n$/,
  );
});

test('bad input: a namespace without a cluster, a wrong context, no permission: one line each', async () => {
  const empty = await plugin(['status', '-n', 'default']);
  assert.is(empty.code, 3);
  assert.is(empty.stdout, '');
  assert.match(empty.stderr, /^deis-etcd status: no deis-etcd cluster in namespace default: .*\n$/);

  const ctx = await plugin(['status', '-n', ns, '--context', 'nope']);
  assert.is(ctx.code, 3);
  assert.match(ctx.stderr, /^deis-etcd status: context 'nope' is not in the kubeconfig .*\n$/);

  // a ServiceAccount with no Role at all, through a kubeconfig of its own
  await world.kubectl(['create', 'serviceaccount', 'nobody', '-n', ns]);
  const token = (await world.kubectl(['create', 'token', 'nobody', '-n', ns])).trim();
  const kc = join(tempDir('deis-etcd-kc-'), 'kubeconfig');
  copyFileSync(world.kubeconfig, kc);
  const cluster = await world.kubectl(['--kubeconfig', kc, 'config', 'view', '-o', 'jsonpath={.clusters[0].name}']);
  await world.kubectl(['--kubeconfig', kc, 'config', 'set-credentials', 'nobody', `--token=${token}`]);
  await world.kubectl(['--kubeconfig', kc, 'config', 'set-context', 'nobody', `--cluster=${cluster}`, '--user=nobody']);
  await world.kubectl(['--kubeconfig', kc, 'config', 'use-context', 'nobody']);
  const denied = await plugin(['status', '-n', ns], kc);
  assert.is(denied.code, 5, denied.stderr);
  assert.match(
    denied.stderr,
    /^deis-etcd status: the Kubernetes API refused to (list pods|get statefulsets) in namespace deis-etcd for context nobody: .*\n$/,
    denied.stderr,
  );
});

test.run();
