// A BootContext over fakes: a fake cluster (members, health, leader), a fake Kubernetes API, an
// in-memory data dir, a fake clock and a memory logger, built by the product's own createContext.
import { validateBoot } from '../../internal/config/boot.ts';
import type { RawOptions } from '../../internal/config/options.ts';
import { createContext, type BootContext } from '../../internal/boot/context.ts';
import { FakeCluster } from './etcd.ts';
import { FakeKube } from './kube.ts';
import { fakeClock } from './clock.ts';
import { memoryFiles } from './files.ts';
import { memoryLogger } from './log.ts';

export interface FakeBoot {
  ctx: BootContext;
  cluster: FakeCluster;
  kube: FakeKube | undefined;
  log: ReturnType<typeof memoryLogger>;
  clock: ReturnType<typeof fakeClock>;
  files: ReturnType<typeof memoryFiles>;
  discovery: FakeCluster;
}

/** Flags as `--flag value` pairs (e.g. { name: 'etcd-2', 'advertise-host': '127.0.0.3' }). */
export async function fakeBoot(
  flags: Record<string, string>,
  opts: { cluster?: FakeCluster; kube?: FakeKube | undefined } = {},
): Promise<FakeBoot> {
  const raw: RawOptions = {};
  const all: Record<string, string> = {
    'data-dir': '/data',
    'discovery-endpoint': 'http://127.0.0.200:2381',
    token: 'tok',
    ...flags,
  };
  for (const [k, v] of Object.entries(all)) raw[k] = { value: v, source: `--${k}` };
  const cfg = validateBoot(raw, {});
  const cluster = opts.cluster ?? new FakeCluster();
  const kube = 'kube' in opts ? opts.kube : FakeKube.withPods(3);
  const discovery = new FakeCluster();
  discovery.addMember(200, { name: 'deis-etcd-discovery', clientUrls: ['http://127.0.0.200:2381'] });
  const log = memoryLogger();
  const clock = fakeClock(1_000_000);
  const files = memoryFiles();
  const connect = (endpoints: string[]) =>
    endpoints.includes('http://127.0.0.200:2381') ? discovery.connect(endpoints) : cluster.connect(endpoints);
  const ctx = await createContext({
    cfg,
    log,
    clock,
    env: {},
    interfaces: {},
    signal: new AbortController().signal,
    files,
    fetch: cluster.fetch,
    connect,
    kube: () => kube,
  });
  return { ctx, cluster, kube, log, clock, files, discovery };
}
