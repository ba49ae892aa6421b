// One look at a deis-etcd cluster for `deis-etcd status`, through the Kubernetes API: the member
// pods, the StatefulSet's replicas, and per pod etcd's /health and HTTP/JSON gateway (status, member
// list, alarms) through the pod proxy; the heartbeats and registrations from the discovery service's
// etcd the same way (the token from its Secret). Pods are asked in parallel, each call bounded.
// `via` picks how a pod's port is reached: `proxy` (the API server's pod proxy: from a laptop),
// `direct` (the pod IP: in a pod, or on the pod network), `auto` (direct in a pod, else the proxy, and
// direct for pods whose address the API server will not proxy to, as a test world's loopback pods).
// With TLS (client certificates required) it goes direct over https, and with authentication the
// members' gateway calls carry a token.
import { DeisError, describe, isReason } from '../errors.ts';
import type { ClusterApi, ClusterPod, ProxyReply } from '../k8s/cluster.ts';
import { parseRegistration, registryKeys } from '../discovery/registry.ts';
import type { Look, MemberLook, PodLook } from './report.ts';

export interface LookOptions {
  selector: string;
  statefulSet: string;
  clientPort: number;
  discoverySelector: string;
  discoveryPort: number;
  tokenSecret: string;
  timeoutMs: number;
  via: 'auto' | 'proxy' | 'direct';
  /** The cluster uses TLS: https straight to the pods (the DirectHttp carries the client certificate). */
  tls?: boolean;
  /** The cluster uses authentication: member calls carry a token obtained with these credentials. */
  auth?: { username: string; password: string };
}

/**
 * HTTP straight to a pod: GET without a body, POST with a JSON one, with extra headers; rejects after
 * timeoutMs. For https URLs it presents the client certificate it was made with.
 */
export type DirectHttp = (
  url: string,
  body: unknown,
  timeoutMs: number,
  headers?: Record<string, string>,
) => Promise<ProxyReply>;

type Json = Record<string, unknown>;

/** A field of the gateway's JSON by its camelCase or its proto (snake_case) name. */
function field(o: Json | undefined, camel: string): unknown {
  if (!o) return undefined;
  if (camel in o) return o[camel];
  return o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}
const num = (v: unknown) => (v === undefined ? 0 : Number(v));
const str = (v: unknown) => (v === undefined ? '' : String(v));
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: unknown) => Buffer.from(String(s ?? ''), 'base64').toString('utf8');

/** The key just after every key with `prefix` (etcd's range end of a prefix). */
function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  b[b.length - 1]! += 1;
  return b.toString('utf8');
}

export async function look(api: ClusterApi, o: LookOptions, direct: DirectHttp, now: () => number): Promise<Look> {
  const [pods, replicas] = await Promise.all([api.listPods(o.selector), api.statefulSetReplicas(o.statefulSet)]);
  if (!pods.length && replicas === undefined) {
    throw new DeisError(
      'config',
      `no deis-etcd cluster in namespace ${api.namespace}: no pods match '${o.selector}' and there is no StatefulSet ${o.statefulSet} (pass -n NAMESPACE)`,
    );
  }
  const live = pods.filter((p) => !p.deleting).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  if (o.tls && o.via === 'proxy') {
    throw new DeisError(
      'config',
      "the cluster uses TLS with client certificates and the API server's pod proxy presents none: use --via direct " +
        '(from a pod, or a host on the pod network)',
    );
  }
  let viaDirect = o.tls || o.via === 'direct' || (o.via === 'auto' && api.inCluster);
  const scheme = o.tls ? 'https' : 'http';
  const send = async (
    pod: ClusterPod,
    port: number,
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<ProxyReply> => {
    if (!viaDirect) {
      try {
        return await api.proxy(pod.name, port, path, body, o.timeoutMs);
      } catch (err) {
        if (o.via !== 'auto' || !isReason(err, 'not-proxyable')) throw err;
        viaDirect = true;
      }
    }
    if (!pod.ip) throw new Error('no pod IP yet');
    const host = pod.ip.includes(':') ? `[${pod.ip}]` : pod.ip;
    return direct(`${scheme}://${host}:${port}${path}`, body, o.timeoutMs, headers).catch((err: unknown) => {
      throw new Error(
        `${(err as Error).name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : describe(err)}`,
      );
    });
  };
  const ask = async (
    pod: ClusterPod,
    port: number,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Json> => {
    const r = await send(pod, port, path, body, headers);
    let parsed: Json;
    try {
      parsed = JSON.parse(r.body) as Json;
    } catch {
      throw new Error(`HTTP ${r.status} from ${path}: ${r.body.trim().slice(0, 120)}`);
    }
    if (r.status >= 400 && path !== '/health') throw new Error(`HTTP ${r.status} from ${path}: ${str(parsed.message)}`);
    return parsed;
  };
  // with authentication: one token (etcd shares simple tokens through raft), fetched again after a failure
  let token: Promise<string> | undefined;
  const member = async (pod: ClusterPod, path: string, body?: unknown): Promise<Json> => {
    if (!o.auth) return ask(pod, o.clientPort, path, body);
    const { username: name, password } = o.auth;
    token ??= ask(pod, o.clientPort, '/v3/auth/authenticate', { name, password }).then((r) => str(r.token));
    const t = await token.catch((err: unknown) => {
      token = undefined;
      throw err;
    });
    return ask(pod, o.clientPort, path, body, { Authorization: t });
  };
  let members: MemberLook[] | undefined;
  let alarms: Look['alarms'] | undefined;
  const looks: PodLook[] = await Promise.all(
    live.map(async (p): Promise<PodLook> => {
      const base: PodLook = { name: p.name, ip: p.ip, ready: p.ready, phase: p.phase };
      if (p.phase !== 'Running') return { ...base, error: `pod ${p.phase}` };
      try {
        const [h, s] = await Promise.all([ask(p, o.clientPort, '/health'), member(p, '/v3/maintenance/status', {})]);
        const header = field(s, 'header') as Json | undefined;
        const look: PodLook = {
          ...base,
          health: { ok: str(h.health) === 'true', reason: str(h.reason) },
          status: {
            memberId: str(field(header, 'memberId')),
            leader: str(field(s, 'leader')) || '0',
            raftIndex: num(field(s, 'raftIndex')),
            dbSize: num(field(s, 'dbSize')),
            dbSizeInUse: num(field(s, 'dbSizeInUse')),
            version: str(field(s, 'version')),
            isLearner: field(s, 'isLearner') === true,
            errors: ((field(s, 'errors') as unknown[]) ?? []).map(String),
          },
        };
        if (!members && !look.status!.isLearner) {
          const ml = await member(p, '/v3/cluster/member/list', {}).catch(() => undefined);
          const list = (field(ml, 'members') as Json[] | undefined) ?? undefined;
          if (list && !members)
            members = list.map((m) => ({
              id: str(m.ID ?? m.id),
              name: str(m.name),
              isLearner: field(m, 'isLearner') === true,
              clientUrls: ((field(m, 'clientURLs') ?? field(m, 'clientUrls')) as string[] | undefined) ?? [],
            }));
          const al = await member(p, '/v3/maintenance/alarm', { action: 'GET' }).catch(() => undefined);
          if (al && !alarms)
            alarms = ((field(al, 'alarms') as Json[] | undefined) ?? []).map((a) => ({
              memberId: str(field(a, 'memberID') ?? field(a, 'memberId')),
              alarm: str(a.alarm),
            }));
        }
        return look;
      } catch (err) {
        if (err instanceof DeisError && (err.code === 'forbidden' || isReason(err, 'not-proxyable'))) throw err;
        return { ...base, error: describe(err).replace(/^.*? through the API server: /, '') };
      }
    }),
  );
  const out: Look = { namespace: api.namespace, replicas, pods: looks, members, alarms: alarms ?? [], now: now() };
  try {
    out.registry = await readRegistry(api, o, ask);
  } catch (err) {
    out.registryError = describe(err);
  }
  return out;
}

/** Heartbeats (status/<name>) and etcd's registrations (members/<idHex>) from the discovery pod. */
async function readRegistry(
  api: ClusterApi,
  o: LookOptions,
  ask: (pod: ClusterPod, port: number, path: string, body?: unknown) => Promise<Json>,
): Promise<NonNullable<Look['registry']>> {
  const token = await api.secretKey(o.tokenSecret, 'token');
  if (!token) throw new Error(`no token in Secret ${o.tokenSecret}`);
  const pod = (await api.listPods(o.discoverySelector)).find((p) => p.ready && !p.deleting);
  if (!pod) throw new Error('no Ready discovery pod');
  const keys = registryKeys(token.trim());
  const range = async (prefix: string) =>
    (
      (field(
        await ask(pod, o.discoveryPort, '/v3/kv/range', { key: b64(prefix), range_end: b64(prefixEnd(prefix)) }),
        'kvs',
      ) as Json[] | undefined) ?? []
    ).map((kv) => ({ key: unb64(kv.key), value: unb64(kv.value), rev: num(field(kv, 'createRevision')) }));
  const heartbeats: Record<string, string> = {};
  for (const kv of await range(keys.statusPrefix)) {
    try {
      const hb = JSON.parse(kv.value) as { name?: string; at?: string };
      if (hb.name && hb.at) heartbeats[hb.name] = hb.at;
    } catch {
      /* not ours */
    }
  }
  const registrations = (await range(keys.members))
    .map((kv) => parseRegistration(kv.key.slice(keys.members.length), kv.value, kv.rev))
    .filter((r) => /^[0-9a-f]+$/i.test(r.id))
    .map((r) => ({ id: BigInt(`0x${r.id}`).toString(), name: r.name }));
  return { heartbeats, registrations };
}
