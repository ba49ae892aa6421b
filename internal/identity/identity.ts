// Who am I: the pod's name, namespace and IP. The downward API (POD_NAME, POD_NAMESPACE, POD_IP)
// reaches us through config; when the IP is missing we fall back, as the seed did, to the first
// non-loopback IPv4 interface (boot also asks the API server for its pod first).
import type { NetworkInterfaceInfo } from 'node:os';
import { DeisError } from '../errors.ts';

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The first non-internal IPv4 address, in interface-name order; undefined when there is none. */
export function firstInterfaceAddress(ifaces: Interfaces): string | undefined {
  for (const name of Object.keys(ifaces).sort()) {
    for (const a of ifaces[name] ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return undefined;
}

/** The address to advertise: the configured one, else the first interface's, else a clear error. */
export function advertiseAddress(configured: string | undefined, ifaces: Interfaces): { host: string; source: string } {
  if (configured) return { host: configured, source: 'config' };
  const found = firstInterfaceAddress(ifaces);
  if (found) return { host: found, source: 'interface' };
  throw new DeisError(
    'environment',
    'no address to advertise: set POD_IP from the downward API (fieldRef status.podIP) or --advertise-host',
  );
}

/** A StatefulSet pod's ordinal and set name: deis-etcd-3 -> { set: 'deis-etcd', ordinal: 3 }. */
export function statefulSetOrdinal(podName: string): { set: string; ordinal: number } | undefined {
  const m = /^(.+)-(\d+)$/.exec(podName);
  return m ? { set: m[1]!, ordinal: Number(m[2]) } : undefined;
}
