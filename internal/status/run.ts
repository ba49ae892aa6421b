// `deis-etcd status`: one look at the cluster (collect.ts), the verdict and table (report.ts), the exit
// code: 0 healthy, 1 degraded, 2 down; an error that keeps status from looking is one line on stderr
// with its own code (statusErrorExit), never one of the three verdicts.
import type { StatusConfig } from '../config/status.ts';
import { DeisError, describe } from '../errors.ts';
import type { ClusterApi } from '../k8s/cluster.ts';
import { look, type DirectHttp } from './collect.ts';
import { exitOf, renderTable, report } from './report.ts';
import { resolveSecurity } from './direct.ts';
import type { Files } from '../files.ts';
import type { Credentials } from '../tls/pki.ts';

export interface StatusDeps {
  cluster: () => ClusterApi;
  /** The transport straight to pods, presenting the client certificate when there is one. */
  direct: (tls?: Credentials) => DirectHttp;
  files: Pick<Files, 'read'>;
  write: (text: string) => void;
  now: () => number;
}

export async function runStatus(cfg: StatusConfig, d: StatusDeps): Promise<number> {
  const api = d.cluster();
  const sec = await resolveSecurity(cfg, api, d.files);
  const l = await look(
    api,
    {
      selector: cfg.selector,
      statefulSet: cfg.statefulSet,
      clientPort: cfg.clientPort,
      discoverySelector: cfg.discoverySelector,
      discoveryPort: cfg.discoveryPort,
      tokenSecret: cfg.tokenSecret,
      timeoutMs: cfg.timeoutS * 1000,
      via: cfg.via,
      tls: !!sec.tls,
      ...(sec.auth ? { auth: sec.auth } : {}),
    },
    d.direct(sec.tls),
    d.now,
  );
  const r = report(l);
  d.write(cfg.output === 'json' ? `${JSON.stringify(r, null, 2)}\n` : renderTable(r));
  return exitOf(r.verdict);
}

/**
 * Exit codes when status cannot look (kept apart from 0/1/2, the verdicts): 3 bad input (flag,
 * kubeconfig, context, a namespace without a cluster) or an internal error, 4 the API server is
 * unreachable, 5 the API server refused a call.
 */
export function statusErrorExit(err: unknown): number {
  if (err instanceof DeisError) {
    if (err.code === 'unreachable') return 4;
    if (err.code === 'forbidden') return 5;
  }
  return 3;
}

/**
 * The one line an error prints: our own message says what to fix (its cause, e.g. the client
 * library's multi-line HTTP dump, is left out); anything else with its causes, on one line.
 */
export const statusErrorLine = (err: unknown): string =>
  `deis-etcd status: ${(err instanceof DeisError ? err.message : describe(err)).replace(/\s*\n\s*/g, ' ')}\n`;
