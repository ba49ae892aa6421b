// The chaos suite's client workload: a few concurrent clients put unique keys with unique values, read
// keys written before (linearizable gets) and overwrite a few shared register keys (unique values), all
// through the real etcd client, against the member pods
// that are Ready, at a bounded rate. Every operation is recorded with its invoke and return times
// (ns since the workload started) and its outcome: ok, fail (an error came back) or unknown (no
// answer within the per-op timeout). This is the history the porcupine checker reads.
import { noFaultHandling } from '../../internal/etcd/connection.ts';
import { Etcd3 } from 'etcd3';
import type { Members } from '../helpers/members.ts';
import { isReady } from '../world/world.ts';
import { sleep } from '../world/procs.ts';

/** One recorded operation, in the form build/tools/porcupine reads. */
export interface Op {
  client: number;
  input: { op: 'put' | 'get'; key: string; value?: string };
  output: { ok: boolean; value?: string | null; unknown?: boolean; error?: string };
  /** ns since the workload started */
  call: number;
  return: number;
}

export interface WorkloadOptions {
  /** Key prefix of this run: keys are `${prefix}/c<client>/<seq>`. */
  prefix: string;
  clients?: number;
  /** Pause between a client's operations (bounds the rate: clients * 1000 / pauseMs ops/s at most). */
  pauseMs?: number;
  /** An operation without an answer within this is recorded as unknown. */
  opTimeoutMs?: number;
  /** How many register keys (`${prefix}/r/<n>`, overwritten by every client) a quarter of the ops use. */
  registers?: number;
  /** Seeded random numbers in [0, 1). */
  random: () => number;
}

export interface Workload {
  readonly ops: Op[];
  /** the history's clock: ns since the workload started */
  now(): number;
  /** Stops the clients, waits for them (each at most one op timeout) and closes the connections. */
  stop(): Promise<void>;
}

/** A client that neither retries nor opens circuit breakers: every failure shows in the history. */
export const client = (hosts: string[]): Etcd3 =>
  new Etcd3({ hosts, dialTimeout: 2000, faultHandling: noFaultHandling });

/** Starts the workload; it runs until stop(). */
export function startWorkload(m: Members, opts: WorkloadOptions): Workload {
  const clients = opts.clients ?? 3;
  const pauseMs = opts.pauseMs ?? 100;
  const opTimeoutMs = opts.opTimeoutMs ?? 5000;
  const registers = opts.registers ?? 8;
  const t0 = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - t0);
  const ops: Op[] = [];
  const written: string[] = []; // keys whose put was invoked, for the gets to read
  let stopped = false;
  const conns = new Set<Etcd3>();

  // the Ready members' client URLs, refreshed every second; clients reconnect when they change
  let hosts: string[] = [];
  const refresh = async () => {
    try {
      const ps = (await m.pods()).filter(isReady);
      if (ps.length) hosts = ps.map((p) => `http://${p.status!.podIP}:2379`).sort();
    } catch {
      /* the API server is busy: keep the last list */
    }
  };
  const refresher = (async () => {
    while (!stopped) {
      await refresh();
      await sleep(1000);
    }
  })();

  async function runClient(id: number): Promise<void> {
    let seq = 0;
    let at = '';
    let c: Etcd3 | undefined;
    // an old connection may still carry an op that timed out: close it once that op cannot matter
    const retire = (old: Etcd3) =>
      setTimeout(() => {
        old.close();
        conns.delete(old);
      }, opTimeoutMs + 1000).unref();
    while (!stopped) {
      if (!hosts.length) {
        await sleep(200);
        continue;
      }
      if (hosts.join() !== at) {
        if (c) retire(c);
        at = hosts.join();
        c = client(hosts);
        conns.add(c);
      }
      const put = written.length === 0 || opts.random() < 0.5;
      // one op in four goes to a register key that every client overwrites: porcupine then checks the
      // order of the writes, not only that each is seen; the other keys are written once
      const register =
        opts.random() < 0.25 ? registerKey(opts.prefix, Math.floor(opts.random() * registers)) : undefined;
      // reads of written-once keys: mostly recent ones (the interesting reads), sometimes any
      const key = register ?? (put ? `${opts.prefix}/c${id}/${seq}` : pick(written, opts.random));
      const input: Op['input'] = put ? { op: 'put', key, value: `${opts.prefix}:c${id}:${seq++}` } : { op: 'get', key };
      const op: Op = { client: id, input, output: { ok: false }, call: 0, return: 0 };
      if (put && !register) written.push(key);
      const conn = c!;
      op.call = now();
      const call = put
        ? conn
            .put(op.input.key)
            .value(op.input.value!)
            .exec()
            .then(() => undefined)
        : conn.get(op.input.key).string();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), opTimeoutMs);
      });
      try {
        const got = await Promise.race([call, timeout]);
        op.return = now();
        if (got === 'timeout') op.output = { ok: false, unknown: true };
        else op.output = put ? { ok: true } : { ok: true, value: got ?? null };
      } catch (err) {
        op.return = now();
        op.output = { ok: false, error: (err as Error).constructor?.name ?? 'Error' };
      } finally {
        clearTimeout(timer);
      }
      call.catch(() => {
        /* an answer after the timeout changes nothing: the op stays unknown */
      });
      ops.push(op);
      await sleep(op.output.ok ? pauseMs : Math.max(pauseMs, 250));
    }
  }

  const running = Array.from({ length: clients }, (_, i) => runClient(i));
  return {
    ops,
    now,
    async stop() {
      stopped = true;
      await Promise.all([...running, refresher]); // each client ends within one op timeout
      for (const c of conns) c.close(); // every op is recorded by now: what is still in flight stays unknown
      conns.clear();
    },
  };
}

/** Where a run's register keys live: overwritten by every client, unlike the written-once keys. */
export const registerPrefix = (prefix: string): string => `${prefix}/r/`;
const registerKey = (prefix: string, n: number): string => `${registerPrefix(prefix)}${n}`;

/** A key to read: one of the last 50 written, or (one time in five) any. */
function pick(keys: string[], random: () => number): string {
  const from = random() < 0.2 ? 0 : Math.max(0, keys.length - 50);
  return keys[from + Math.floor(random() * (keys.length - from))]!;
}
