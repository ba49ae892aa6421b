// `make bench`: how fast and how gently deis-etcd forms and heals a cluster, as ratios against etcd's
// own floor, on this machine, in one run. Not a test: it prints a markdown table and writes
// bench/results/<date>.json. Every load loop is bounded in count and time; all traffic is loopback.
//
// Env: BENCH_REPS (default 5: the Kubernetes reps), BENCH_LOAD_RATE (writes/s, default 200),
// BENCH_LOAD_SECONDS (default 30), BENCH_FLOOR_REPS (default 200), BENCH_ELECTION_REPS (default 60),
// BENCH_COLD_REPS (default 100), BENCH_HEAL_REPS (default 20, half of them kill the leader), BENCH_K8S_HEALS
// (pod deletions per Kubernetes rep, default 2), BENCH_RUNTIME (executable, the shipped form, by default;
// source: Node running the TypeScript), BENCH_KEEP_LOGS=1 (keep the heals' logs).
// Every wait for "ready" or "healthy" polls each 100 ms, the floor's and ours alike.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcd, startEtcdCluster, waitHealthy, type EtcdMember } from '../test/world/etcd.ts';
import { replaceBoot, startBoot, startDiscovery, waitReady, type BootProcess } from '../test/world/programs.ts';
import { tempDir, waitFor, within } from '../test/world/procs.ts';
import { etcdVersion } from '../test/world/tools.ts';
import { noFaultHandling } from '../internal/etcd/connection.ts';
import { k8sBench } from './k8s.ts';
import { medians, phaseTable, readyEntry, type PhaseMs } from './phases.ts';
import { execFileSync } from 'node:child_process';

const reps = Number(process.env.BENCH_REPS ?? 5);
const floorReps = Number(process.env.BENCH_FLOOR_REPS ?? 200);
const electionReps = Number(process.env.BENCH_ELECTION_REPS ?? 60);
const healReps = Math.max(reps, Number(process.env.BENCH_HEAL_REPS ?? 20));
// with 5 cold bootstraps their mean moved 26 % between two runs, as far as its own spread; with 100,
// -2 % (none of those 200 waited out a split first election, unlike the floor's ~20 %)
const coldReps = Math.max(reps, Number(process.env.BENCH_COLD_REPS ?? 100));
const rate = Number(process.env.BENCH_LOAD_RATE ?? 200);
const loadS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const root = new URL('..', import.meta.url).pathname;
const runtime = process.env.BENCH_RUNTIME === 'source' ? 'source' : 'executable';
/** How the measured boots run: the executable built from this tree at the start, or from source. */
const bootLauncher = runtime === 'executable' ? [join(root, 'dist/bin/boot')] : undefined;
const ready = (b: BootProcess) => waitReady(b, 90_000, 100);

interface Stat {
  median: number;
  mean: number;
  /** The standard error of the mean: how far another run's mean may land (about 2 se, 95 %). */
  se: number;
  min: number;
  max: number;
  n: number;
}
const stat = (xs: number[]): Stat => {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  const variance = s.length > 1 ? s.reduce((a, b) => a + (b - mean) ** 2, 0) / (s.length - 1) : NaN;
  return {
    median: s[Math.floor(s.length / 2)] ?? NaN,
    mean,
    se: Math.sqrt(variance / s.length),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    n: s.length,
  };
};
/** A ratio's base: the sum of one or more bases' means, with their standard errors combined. */
interface Base {
  mean: number;
  se: number;
}
const baseOf = (...xs: Stat[]): Base => ({
  mean: xs.reduce((a, x) => a + x.mean, 0),
  se: Math.sqrt(xs.reduce((a, x) => a + x.se ** 2, 0)),
});
/**
 * mean / base mean, and its spread: two standard errors of the ratio (relative errors added in
 * quadrature), where about 95 % of runs' ratios would land. Medians are not used for ratios: the
 * floor is bimodal and its median flips between the modes.
 */
const ratioOf = (x: Stat, b: Base) => {
  const ratio = x.mean / b.mean;
  const rel = Math.sqrt((x.se / x.mean) ** 2 + (b.se / b.mean) ** 2);
  return { ratio, spread: 2 * rel };
};
/**
 * The floor's two modes: etcd's first election either goes through at once (a few hundred ms) or
 * splits and waits out an election timeout (~2.4 s here). The median of such samples flips between
 * the modes from run to run (656 vs 1285 ms, 15 samples each); the mean moves with the share of
 * slow elections only, so the ratios are taken against the mean of many samples.
 */
const MODE_SPLIT_MS = 1500;
const modes = (xs: number[]) => {
  const fast = xs.filter((x) => x < MODE_SPLIT_MS),
    slow = xs.filter((x) => x >= MODE_SPLIT_MS);
  return { fast: stat(fast), slow: stat(slow), slowShare: xs.length ? slow.length / xs.length : NaN };
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

async function timeIt(fn: () => Promise<() => Promise<void>>): Promise<number> {
  const t0 = performance.now();
  const cleanup = await fn();
  const ms = performance.now() - t0;
  await cleanup();
  return ms;
}

/** Removes a stopped etcd's data (each preallocates a 64 MB WAL: 80 samples would fill /tmp). */
const dropData = (m: { dataDir: string }) => rmSync(dirname(m.dataDir), { recursive: true, force: true });

/**
 * etcd's floor: 3 members with a static --initial-cluster, process start to all healthy. With
 * `withElection`, then etcd's own price of losing its leader, timed on that cluster ({@link election}).
 */
async function floor(withElection: boolean): Promise<{ ms: number; electionMs: number | undefined }> {
  let electionMs: number | undefined;
  const ms = await timeIt(async () => {
    const c = await startEtcdCluster({ size: 3 });
    return async () => {
      if (withElection) electionMs = await election(c.members);
      await c.stop();
      c.members.forEach(dropData);
    };
  });
  return { ms, electionMs };
}

/**
 * kill -9 the leader of a healthy static cluster, from its exit until a survivor leads (followers
 * first wait out their randomized election timeout). A heal whose victim led pays this before the
 * cluster takes any membership change: its base is one member's start plus this.
 */
async function election(members: EtcdMember[]): Promise<number | undefined> {
  const clients = members.map((m) => new Etcd3({ hosts: [m.clientUrl], dialTimeout: 2000 }));
  const status = (c: Etcd3, ms: number) => within(ms, 'status', c.maintenance.status());
  try {
    const before = await Promise.all(clients.map((c) => status(c, 5000)));
    const li = before.findIndex((st) => st.leader === st.header.member_id);
    if (li < 0) return undefined;
    const old = before[li]!.leader;
    members[li]!.proc.kill('SIGKILL');
    await members[li]!.proc.exited;
    const t0 = performance.now();
    await waitFor(
      'a new leader',
      async () => {
        const now = await Promise.all(
          clients.filter((_, i) => i !== li).map((c) => status(c, 1000).catch(() => undefined)),
        );
        return now.some((st) => st && st.leader !== '0' && st.leader !== old);
      },
      30_000,
      20,
    );
    return performance.now() - t0;
  } finally {
    for (const c of clients) c.close();
  }
}

/** One member's start: a single-member etcd from process start to healthy. */
async function singleStart(): Promise<number> {
  return timeIt(async () => {
    const m = await startEtcd({ name: 'solo' });
    await waitHealthy(m);
    return async () => {
      await m.proc.stop();
      dropData(m);
    };
  });
}

/** Every boot's phases as its log says them, collected per measure. */
const phaseSamples: Record<string, PhaseMs[]> = { cold: [], heal: [] };
function collectPhases(measure: string, boots: BootProcess[]): void {
  for (const b of boots) {
    const e = readyEntry(b.proc.log());
    if (!e) continue;
    phaseSamples[measure] ??= [];
    phaseSamples[measure].push(e.phases);
  }
}

async function cluster(logDir: string) {
  const disc = await startDiscovery({ size: 3, logDir });
  const t0 = performance.now();
  const boots: BootProcess[] = [];
  for (const name of ['etcd-0', 'etcd-1', 'etcd-2'])
    boots.push(await startBoot({ name, discovery: disc, logDir, launcher: bootLauncher }));
  await Promise.all(boots.map(ready));
  const ms = performance.now() - t0;
  collectPhases('cold', boots);
  return {
    disc,
    boots,
    ms,
    stop: async () => {
      await Promise.all(boots.map((b) => b.proc.stop()));
      await disc.proc.stop();
    },
  };
}

/** Cold bootstrap, direct: discovery already up; three boots from spawn to all ready. */
async function coldDirect(): Promise<number> {
  const c = await cluster(tempDir());
  await c.stop();
  return c.ms;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Whether the member at `clientUrl` leads its cluster now (etcd's status: leader == its own ID). */
async function isLeader(clientUrl: string): Promise<boolean | undefined> {
  const c = new Etcd3({ hosts: [clientUrl], dialTimeout: 2000 });
  try {
    const st = await within(5000, 'status', c.maintenance.status());
    return st.leader === st.header.member_id;
  } catch {
    return undefined;
  } finally {
    c.close();
  }
}

async function memberIds(boots: BootProcess[]): Promise<{ name: string; learner: boolean }[]> {
  const c = new Etcd3({ hosts: boots.filter((b) => b.proc.running()).map((b) => b.clientUrl), dialTimeout: 2000 });
  try {
    return (await within(5000, 'member list', c.cluster.memberList({ linearizable: true }))).members.map((m) => ({
      name: m.name,
      learner: !!m.isLearner,
    }));
  } finally {
    c.close();
  }
}

/** A bounded write load: `rate` puts/s for `seconds`; latencies of the successful ones and a failure count. */
async function load(
  endpoints: string[],
  seconds: number,
  during?: () => Promise<void>,
): Promise<{ lat: number[]; failed: number; sent: number }> {
  // without etcd3's circuit breakers (as boot's own clients): three 'no leader' answers in a row during
  // the election after a leader's kill would fail every write to that member for 5 s, which measures
  // etcd3's policy, not the cluster
  const c = new Etcd3({ hosts: endpoints, dialTimeout: 2000, faultHandling: noFaultHandling });
  const lat: number[] = [];
  let failed = 0;
  let sent = 0;
  const total = rate * seconds;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  const side = during?.();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sent++;
    const s = performance.now();
    inflight.push(
      within(
        10_000,
        'put',
        c
          .put(`bench/${i % 1000}`)
          .value(String(i))
          .exec(),
      ).then(
        () => {
          lat.push(performance.now() - s);
        },
        () => {
          failed++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  await side;
  c.close();
  return { lat, failed, sent };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    etcd: etcdVersion(),
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB`,
    reps,
    runtime,
  };
  // the bundles and the executable from this tree, so that no stale build is measured
  log('building the bundles and the executable');
  execFileSync(join(root, 'node_modules/.bin/node'), [join(root, 'build/sea.ts')], { stdio: 'ignore' });
  const floors: number[] = [],
    elections: number[] = [],
    singles: number[] = [],
    colds: number[] = [],
    heals: number[] = [];
  // the floor and one member's start are cheap and spread widely (etcd's first election): more samples
  for (let i = 0; i < Math.max(coldReps, floorReps); i++) {
    log(`rep ${i + 1}: floor${i < electionReps ? ', election' : ''}, single${i < coldReps ? ', cold' : ''}`);
    const fl = await floor(i < electionReps);
    floors.push(fl.ms);
    if (fl.electionMs !== undefined) elections.push(fl.electionMs);
    singles.push(await singleStart());
    if (i < coldReps) colds.push(await coldDirect());
  }
  log('heal, availability and overhead');
  const logDir = mkdtempSync(join(tmpdir(), 'deis-etcd-bench-'));
  const healFailures: string[] = [];
  let keepLogs = process.env.BENCH_KEEP_LOGS === '1'; // to read a heal's timeline
  const c = await cluster(logDir);
  const rss = { boot: c.boots.map((b) => rssMiB(b.proc.child.pid!)), discovery: rssMiB(c.disc.proc.child.pid!) };
  const steady = await load(
    c.boots.map((b) => b.clientUrl),
    Math.min(10, loadS),
  );
  const healSamples: { ms: number; victimWasLeader: boolean | undefined; phases: PhaseMs | undefined }[] = [];
  let healLoad: { lat: number[]; failed: number; sent: number } | undefined;
  for (let i = 0; i < healReps; i++) {
    // a running cluster is past etcd's strict-reconfiguration window (a MemberAdd needs the leader
    // connected to a quorum for the last 5 s): back-to-back heals would measure that window instead
    if (i > 0) await new Promise((r) => setTimeout(r, 5500));
    // the victim's role alternates, so that every run has as many leader kills as follower kills (a
    // killed leader costs an election first: the two are measured against their own bases)
    const roles = await Promise.all(c.boots.map((b) => isLeader(b.clientUrl)));
    const want = i % 2 === 0;
    const idx = roles.includes(want) ? roles.indexOf(want) : i % 3;
    const leader = roles[idx];
    const victim = c.boots[idx]!;
    const heal = async () => {
      const { boot, killedAt: t0 } = await replaceBoot(victim, { discovery: c.disc, logDir, launcher: bootLauncher });
      c.boots[idx] = boot;
      await ready(c.boots[idx]);
      await waitFor(
        'no stale member',
        async () => {
          const ms = await memberIds(c.boots);
          return ms.length === 3 && ms.every((m) => !m.learner);
        },
        60_000,
        100,
      );
      heals.push(performance.now() - t0);
      // one record per heal: a killed leader costs the cluster an election before the replacement's
      // linearizable member list answers, a killed follower does not
      healSamples.push({
        ms: Math.round(performance.now() - t0),
        victimWasLeader: leader,
        phases: readyEntry(c.boots[idx]!.proc.log())?.phases,
      });
      if (performance.now() - t0 > 5000) {
        log(`heal ${i + 1} took ${Math.round(performance.now() - t0)} ms; logs kept in ${logDir}`);
        keepLogs = true;
      }
      collectPhases('heal', [c.boots[idx]]);
    };
    try {
      if (i === 0)
        healLoad = await load(
          c.boots.filter((_, j) => j !== idx).map((b) => b.clientUrl),
          loadS,
          heal,
        );
      else await heal();
    } catch (err) {
      healFailures.push(String(err).slice(0, 300));
      log(`heal ${i + 1} failed: ${String(err).slice(0, 300)}; logs kept in ${logDir}`);
      keepLogs = true;
      break; // the cluster may be short a member now: stop healing it
    }
  }
  await c.stop();
  if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
  results.healFailures = healFailures;
  results.healSamples = healSamples;
  for (const [what, leader] of [
    ['a leader', true],
    ['a follower', false],
  ] as const) {
    const ms = healSamples.filter((h) => h.victimWasLeader === leader).map((h) => h.ms);
    log(`direct heals that killed ${what}: ${ms.length} (${ms.join(', ') || 'none'} ms)`);
  }

  // overhead: one boot (size 1) per runtime, spawn to ready and RSS once steady
  log('overhead per runtime');
  const runtimes: Record<string, string[]> = {
    'node, from source': [join(root, 'node_modules/.bin/node'), join(root, 'cmd/boot/main.ts')],
    'node dist/boot.cjs': [join(root, 'node_modules/.bin/node'), join(root, 'dist/boot.cjs')],
    'deno run -A dist/boot.cjs': [join(root, 'node_modules/.bin/deno'), 'run', '-A', join(root, 'dist/boot.cjs')],
    'executable dist/bin/boot': [join(root, 'dist/bin/boot')],
  };
  const overhead: Record<string, { readyMs: Stat; rssMiB: Stat }> = {};
  for (const [name, launcher] of Object.entries(runtimes)) {
    const readies: number[] = [],
      rsses: number[] = [];
    for (let i = 0; i < Math.min(reps, 3); i++) {
      const dir = tempDir();
      const disc = await startDiscovery({ size: 1, logDir: dir });
      const t0 = performance.now();
      const b = await startBoot({ name: 'solo-0', discovery: disc, logDir: dir, size: 1, launcher });
      await ready(b);
      readies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 3000));
      rsses.push(rssMiB(b.proc.child.pid!));
      await b.proc.stop();
      await disc.proc.stop();
    }
    overhead[name] = { readyMs: stat(readies), rssMiB: stat(rsses) };
  }
  results.overhead = overhead;

  let k8s: Awaited<ReturnType<typeof k8sBench>> | undefined;
  if (process.env.BENCH_K8S !== '0') {
    log('kubernetes: apply, heal, scale');
    const exe = (name: string) => [join(root, 'dist/bin', name)];
    k8s = await k8sBench(
      reps,
      log,
      runtime === 'executable'
        ? Object.fromEntries(
            ['/bin', '/usr/local/bin'].flatMap((d) => ['boot', 'discovery'].map((n) => [`${d}/${n}`, exe(n)])),
          )
        : undefined,
    );
    const { phases: k8sPhases, split, ...times } = k8s;
    results.kubernetes = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stat(v)]));
    phaseSamples['k8s heal'] = k8sPhases;
    results.kubernetesHealSplit = medians(split);
  }
  const phaseColumns: Record<string, PhaseMs> = {
    'cold bootstrap (direct)': medians(phaseSamples.cold ?? []),
    'heal, empty data (direct)': medians(phaseSamples.heal ?? []),
    ...(phaseSamples['k8s heal']?.length
      ? { 'pod deleted to Ready (Kubernetes)': medians(phaseSamples['k8s heal']) }
      : {}),
  };
  results.phases = phaseColumns;

  const f = stat(floors),
    el = stat(elections),
    s = stat(singles),
    cd = stat(colds),
    h = stat(heals);
  const healOf = (leader: boolean) => stat(healSamples.filter((x) => x.victimWasLeader === leader).map((x) => x.ms));
  const hl = healOf(true),
    hf = healOf(false);
  const bases = { floor: baseOf(f), single: baseOf(s), singleAndElection: baseOf(s, el) };
  const ratios = {
    coldBootstrap: ratioOf(cd, bases.floor),
    healFollowerKilled: ratioOf(hf, bases.single),
    healLeaderKilled: ratioOf(hl, bases.singleAndElection),
    ...(k8s
      ? {
          kubernetesApply: ratioOf(stat(k8s.applyMs), bases.floor),
          kubernetesHeal: ratioOf(stat(k8s.healMs), bases.single),
        }
      : {}),
  };
  Object.assign(results, {
    floorMs: { ...f, modes: modes(floors) },
    electionMs: el,
    singleMemberStartMs: s,
    ratioBase:
      "mean / base mean (the floor is bimodal: its median flips); a leader's heal against one member's start plus etcd's election",
    ratios,
    coldBootstrapDirectMs: cd,
    healDirectMs: h,
    healDirectByRole: { leaderKilled: hl, followerKilled: hf },
    rssMiB: rss,
    availability: {
      rate,
      seconds: loadS,
      steady: { sent: steady.sent, failed: steady.failed, p50: pct(steady.lat, 0.5), p99: pct(steady.lat, 0.99) },
      duringHeal: healLoad && {
        sent: healLoad.sent,
        failed: healLoad.failed,
        p50: pct(healLoad.lat, 0.5),
        p99: pct(healLoad.lat, 0.99),
      },
    },
  });
  const r = (x: number) => x.toFixed(0);
  const row = (name: string, st: Stat, base: Base | undefined, target: string) => {
    const q = base && ratioOf(st, base);
    const ratio = q ? `${q.ratio.toFixed(2)}x ±${(100 * q.spread).toFixed(0)}%` : '';
    return `| ${name} | ${r(st.median)} | ${r(st.mean)} | ${r(st.min)}–${r(st.max)} | ${ratio} | ${target} |`;
  };
  const fm = modes(floors);
  const hload = healLoad ?? { sent: 0, failed: 0, lat: [] as number[] };
  const table = [
    `Machine: ${results.machine as string}; etcd ${etcdVersion()}; ${reps} repetitions; direct path (no Kubernetes).`,
    '',
    '| measure | median ms | mean ms | range ms | ratio (mean / base mean, ±2 se) | target |',
    '|---|---|---|---|---|---|',
    row(`floor: 3 etcd, static --initial-cluster, to all healthy (${f.n} samples)`, f, undefined, 'base'),
    row(`one etcd member, start to healthy (${s.n} samples)`, s, undefined, 'base'),
    row(`etcd's election: kill -9 the leader to a new one (${el.n} samples)`, el, undefined, 'base'),
    row(`cold bootstrap: 3 boots through discovery, to all ready (${cd.n})`, cd, bases.floor, '<= 2x floor'),
    row(
      `heal, a follower killed: kill -9 + replacement with empty data, to voter and no stale member (${hf.n})`,
      hf,
      bases.single,
      "<= 3x one member's start",
    ),
    row(
      `heal, the leader killed: the same (${hl.n})`,
      hl,
      bases.singleAndElection,
      "<= 3x one member's start + etcd's election",
    ),
    ...(healFailures.length ? [`| heal failures | ${healFailures.length} | | | | ${healFailures[0]} |`] : []),
    '',
    `The floor's modes: ${fm.fast.n} first elections at once, median ${r(fm.fast.median)} ms; ${fm.slow.n} split, median ${r(fm.slow.median)} ms (${(100 * fm.slowShare).toFixed(0)} % slow). Ratios are against the bases' means.`,
    '',
    `| availability (${rate} writes/s) | sent | failed | p50 ms | p99 ms | p99 ratio |`,
    '|---|---|---|---|---|---|',
    `| steady (${Math.min(10, loadS)} s) | ${steady.sent} | ${steady.failed} | ${pct(steady.lat, 0.5).toFixed(1)} | ${pct(steady.lat, 0.99).toFixed(1)} | 1x |`,
    `| during one heal, the leader killed (${loadS} s) | ${hload.sent} | ${hload.failed} | ${pct(hload.lat, 0.5).toFixed(1)} | ${pct(hload.lat, 0.99).toFixed(1)} | ${(pct(hload.lat, 0.99) / pct(steady.lat, 0.99)).toFixed(2)}x |`,
    '',
    `RSS once steady (the boots as measured, BENCH_RUNTIME): boot ${rss.boot.map((x) => x.toFixed(0)).join('/')} MiB, discovery ${rss.discovery.toFixed(0)} MiB.`,
    '',
    '| boot runtime (1-member cluster) | spawn to ready, median ms | RSS once steady, median MiB (target <= 60) |',
    '|---|---|---|',
    ...Object.entries(overhead).map(([n, o]) => `| ${n} | ${r(o.readyMs.median)} | ${o.rssMiB.median.toFixed(0)} |`),
    ...(k8s
      ? [
          '',
          '| on the local Kubernetes (test world) | median ms | mean ms | range ms | ratio (mean / base mean, ±2 se) | target |',
          '|---|---|---|---|---|---|',
          row('kubectl apply -k overlays/local to 3 members Ready', stat(k8s.applyMs), bases.floor, '<= 6x floor'),
          row(
            'delete a member pod to its replacement Ready',
            stat(k8s.healMs),
            bases.single,
            "<= 3x one member's start",
          ),
          row('scale 3 -> 5, all Ready', stat(k8s.scaleUpMs), undefined, ''),
          row('scale 5 -> 3, all Ready', stat(k8s.scaleDownMs), undefined, ''),
          '',
          `Where a Kubernetes heal's time goes (medians, ms): ${Object.entries(results.kubernetesHealSplit as PhaseMs)
            .map(([k, v]) => `${k} ${v.toFixed(0)}`)
            .join('; ')}.`,
        ]
      : []),
    '',
    phaseTable(phaseColumns),
  ].join('\n');
  console.log(table);
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${(results.date as string).replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ ...results, table }, null, 2));
  log(`wrote ${file}`);
}

await main();
