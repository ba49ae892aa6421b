// Checks both programs' validations share, and the names both use.
import { isIp } from '../net.ts';
import type { OptionSpec } from './options.ts';
import type { OptionReader, Problems } from './reader.ts';

/** Where the discovery token Secret is mounted, in both programs' pods. */
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/deis/etcd/discovery/token';

/** The discovery token Secret: discovery creates it when no token is configured; boot reads it. */
export const DEFAULT_TOKEN_SECRET = 'deis-etcd-discovery-token';

/** A DNS name: dot-separated lowercase labels (a pod, a Service, a cluster domain). */
export const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** An http(s) URL; `source` names where the value came from (a flag or env variable). */
export function checkUrl(v: string, source: string, p: Problems): void {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') p.add(`${source} must be an http(s) URL, not '${v}'`);
  } catch {
    p.add(`${source} must be a URL like http://10.0.0.5:2381, not '${v}'`);
  }
}

/** An optional IP address (an advertise or listen host). */
export function checkHost(opt: OptionReader<OptionSpec>, flag: string, p: Problems): string | undefined {
  const v = opt.optStr(flag);
  if (v !== undefined && !isIp(v)) p.add(`${opt.source(flag)} must be an IP address, not '${v}'`);
  return v;
}

/** The cluster size, 1 to 9 members, odd unless --allow-even-size (both programs have both flags). */
export function checkClusterSize(opt: OptionReader<OptionSpec>, p: Problems): number {
  const allowEven = opt.bool('allow-even-size');
  const size = opt.int('cluster-size', 1, 9);
  if (size % 2 === 0 && !allowEven) {
    p.add(
      `${opt.source('cluster-size')}=${size} is even: ` +
        `an even cluster tolerates no more failures than ${size - 1} members; ` +
        'use an odd size or --allow-even-size',
    );
  }
  return size;
}
