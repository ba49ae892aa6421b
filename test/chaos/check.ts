// The chaos suite's final checks: every acknowledged put of a written-once key readable with its value
// (one range read of the run's prefix once the cluster healed, whose reads join the history), and the
// porcupine verdict on the whole history (build/tools/porcupine, etcd's robustness tests' checker).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Members } from '../helpers/members.ts';
import { tempDir } from '../world/procs.ts';
import { porcupineTool } from '../world/tools.ts';
import { registerPrefix, type Op } from './workload.ts';

const run = promisify(execFile);

export interface ReadBack {
  /** acknowledged puts whose key is missing or holds another value */
  lost: { key: string; want: string; got: string | null }[];
  /** the range read's answers, as gets for the history */
  reads: Op[];
}

/**
 * Reads every key under prefix once and compares the written-once keys with their acknowledged puts
 * (a register's last value is porcupine's to judge); `now` is the history's clock.
 */
export async function readBack(m: Members, prefix: string, history: Op[], now: () => number): Promise<ReadBack> {
  const call = now();
  const all = await m.withClient((c) => c.getAll().prefix(`${prefix}/`).strings(), 60_000);
  const ret = now();
  const puts = history.filter((o) => o.input.op === 'put');
  const registers = registerPrefix(prefix);
  const lost = puts
    .filter((o) => o.output.ok && !o.input.key.startsWith(registers) && all[o.input.key] !== o.input.value)
    .map((o) => ({ key: o.input.key, want: o.input.value!, got: all[o.input.key] ?? null }));
  const keys = [...new Set(puts.map((o) => o.input.key))];
  const reads: Op[] = keys.map((key) => ({
    client: -1,
    input: { op: 'get', key },
    output: { ok: true, value: all[key] ?? null },
    call,
    return: ret,
  }));
  return { lost, reads };
}

export interface Verdict {
  linearizable: boolean | 'unknown';
  ops: number;
  checked: number;
  keys: number;
}

/** Runs the porcupine checker on the history (written to a temp file), bounded by timeoutS. */
export async function checkLinearizable(history: Op[], timeoutS = 120): Promise<Verdict> {
  const file = join(tempDir('deis-etcd-chaos-'), 'history.json');
  // the checker's client ids are small non-negative ints; the read-back's -1 becomes the next one
  const maxClient = Math.max(0, ...history.map((o) => o.client));
  writeFileSync(
    file,
    JSON.stringify({ ops: history.map((o) => (o.client < 0 ? { ...o, client: maxClient + 1 } : o)) }),
  );
  const { stdout } = await run(porcupineTool(), ['-timeout', `${timeoutS}s`, file], {
    timeout: (timeoutS + 60) * 1000,
    maxBuffer: 2 ** 20,
  });
  return JSON.parse(stdout) as Verdict;
}
