// Memory limits as the kubelet enforces them, through the cgroup v1 memory controller: each container
// runs in a memory cgroup of its own (<root>/deis-etcd-agent-<pid>/<pod uid>-<container>) whose
// memory.limit_in_bytes is the container's resources.limits.memory; the kernel's OOM killer acts
// inside it when the container's processes exceed it, and the agent reports the exit as the kubelet
// does (reason OOMKilled) from the cgroup's oom_kill counter. Where the controller is not mounted
// read-write, limits are not enforced and `memoryCgroups()` says why.
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

const V1_ROOT = '/sys/fs/cgroup/memory';

/** Bytes of a Kubernetes quantity ("128Mi", "1G", "500k", "1e6", "123"); throws on anything else. */
export function parseQuantity(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?(?:e[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) throw new Error(`memory quantity "${q}" is not one of 123, 128Mi, 1Gi, 500M`);
  const unit: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.ceil(Number(m[1]) * (m[2] ? unit[m[2]]! : 1));
}

/** The memory controller's root when it is usable here, else a reason why not. */
export function memoryCgroups(root = V1_ROOT): { root: string } | { unavailable: string } {
  if (!existsSync(join(root, 'memory.limit_in_bytes')))
    return { unavailable: `no cgroup v1 memory controller at ${root}` };
  try {
    accessSync(root, constants.W_OK);
  } catch {
    return { unavailable: `${root} is not writable (read-only mount, or not root)` };
  }
  return { root };
}

/** One container's memory cgroup. */
export class MemoryCgroup {
  readonly dir: string;
  private oomKillsAtStart = 0;

  /** Creates (or reuses) the cgroup and sets its limit; `limitBytes` undefined = no limit. */
  constructor(root: string, agentId: string, name: string, limitBytes: number | undefined) {
    this.dir = join(root, agentId, name);
    mkdirSync(this.dir, { recursive: true });
    // -1 = unlimited (a restart of a container whose limit was removed)
    writeFileSync(join(this.dir, 'memory.limit_in_bytes'), limitBytes === undefined ? '-1' : String(limitBytes));
    this.oomKillsAtStart = this.oomKills();
  }

  /** Where a process writes its own PID to join (the container's shell does `echo $$ > ...`). */
  get procsFile(): string {
    return join(this.dir, 'cgroup.procs');
  }

  /** The cgroup's OOM kill count (memory.oom_control's oom_kill, kernel >= 4.13). */
  oomKills(): number {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(this.dir, 'memory.oom_control'), 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  }

  /** Whether the OOM killer acted inside this cgroup since it was (re)armed. */
  oomKilled(): boolean {
    return this.oomKills() > this.oomKillsAtStart;
  }

  /**
   * Memory charged to the cgroup (bytes): its limit, the anonymous resident memory of its processes
   * now (memory.stat total_rss), and the peak of everything charged (page cache included, which the
   * kernel reclaims before it OOM-kills).
   */
  usage(): { limit: number; rss: number; peak: number } {
    const read = (f: string) => Number(readFileSync(join(this.dir, f), 'utf8').trim());
    const stat = readFileSync(join(this.dir, 'memory.stat'), 'utf8');
    const rss = Number(/^total_rss (\d+)$/m.exec(stat)?.[1] ?? 0);
    return { limit: read('memory.limit_in_bytes'), rss, peak: read('memory.max_usage_in_bytes') };
  }

  /** Removes the cgroup (and children a container engine made) once no process is left in it. */
  remove(): void {
    removeTree(this.dir);
  }
}

/** rmdir of a cgroup directory and its sub-cgroups, deepest first; busy ones stay (best effort). */
function removeTree(dir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) removeTree(join(dir, e));
  try {
    rmdirSync(dir);
  } catch {
    /* still busy */
  }
}

/**
 * Removes the agent's cgroups in every controller (podman, given a cgroup parent, creates it in all
 * of them, with a conmon child), after its containers have stopped.
 */
export function removeAgentCgroup(root: string, agentId: string): void {
  const controllers = dirname(root);
  let names: string[] = [];
  try {
    names = readdirSync(controllers);
  } catch {
    /* none */
  }
  for (const c of names) removeTree(join(controllers, c, agentId));
}
