// The maintenance half of the etcd adapter: compaction, defragmentation (which may take far longer than
// an ordinary call), the snapshot stream and alarms. Built by connectEtcd with its call wrapper and
// per-endpoint clients, so errors, timeouts and authentication stay the same as every other call.
import * as etcd3 from 'etcd3';
import { PassThrough } from 'node:stream';
import { decId, hexId, timeout, type EtcdApi } from './api.ts';
import { translate } from './errors.ts';

/** How long a defragmentation may take (etcd rewrites the database file; ~1 s per 100 MB seen). */
const DEFRAG_TIMEOUT_MS = 120_000;

/** What etcd3's connection pool hands a call: the gRPC service client and the call's metadata. */
interface PoolConnection {
  client: { snapshot(request: object, metadata: unknown, options: object): NodeJS.ReadableStream };
  metadata: unknown;
}

/**
 * Opens the snapshot stream with the client's auth token. etcd3 1.1.2's MaintenanceClient.snapshot
 * passes the call metadata where grpc-js expects the request (client.snapshot(metadata, options)), so
 * the token never reaches etcd and, with authentication on, the stream fails "user name is empty".
 * Upstream: microsoft/etcd3 lib/rpc.js, not reported there that we found. Workaround: the same call
 * through the client's connection pool, request and metadata in their places (tested in
 * test/integration/auth.test.ts with a snapshot taken as root).
 */
function snapshotStream(c: etcd3.Etcd3): Promise<NodeJS.ReadableStream> {
  type Pool = {
    withConnection(
      service: 'Maintenance',
      fn: (conn: PoolConnection) => NodeJS.ReadableStream,
    ): Promise<NodeJS.ReadableStream>;
  };
  const pool = (c.maintenance as unknown as { client: Pool }).client;
  return pool.withConnection('Maintenance', ({ client, metadata }) => client.snapshot({}, metadata, {}));
}

export interface CallDeps {
  /** Runs fn on the current client with the adapter's timeout, translating errors. */
  call: <T>(what: string, fn: (c: etcd3.Etcd3) => Promise<T>) => Promise<T>;
  /** A client of one endpoint (maintenance RPCs go to the member they are about). */
  endpointClient: (endpoint: string) => etcd3.Etcd3;
  /** The ordinary call timeout. */
  ms: number;
}

export function maintenanceApi({
  call,
  endpointClient,
  ms,
}: CallDeps): Pick<EtcdApi, 'compact' | 'defragment' | 'snapshot' | 'alarms' | 'disarm'> {
  return {
    compact: (revision) =>
      call(`compact at ${revision}`, async (c) => {
        try {
          await c.kv.compact({ revision: String(revision), physical: true });
        } catch (err) {
          if (translate(err, 'compact').reason !== 'compacted') throw err;
        }
      }),
    defragment: (endpoint) =>
      // a defragmentation rewrites the whole database: it may take far longer than an ordinary call
      timeout(
        (async () => {
          try {
            await endpointClient(endpoint).maintenance.defragment();
          } catch (err) {
            throw translate(err, `defragment ${endpoint}`);
          }
        })(),
        Math.max(ms, DEFRAG_TIMEOUT_MS),
        `defragment ${endpoint}`,
      ),
    snapshot: (endpoint) => {
      // a PassThrough turns the gRPC event stream into an async iterable with backpressure on our side
      const out = new PassThrough();
      snapshotStream(endpointClient(endpoint))
        .then((stream) => {
          stream.on('data', (r) => {
            if (r.blob?.length) out.write(r.blob);
          });
          stream.on('end', () => out.end());
          stream.on('error', (err) => out.destroy(translate(err, `snapshot of ${endpoint}`)));
        })
        .catch((err) => out.destroy(translate(err, `snapshot of ${endpoint}`)));
      return out;
    },
    alarms: () =>
      call('alarm list', async (c) => {
        const r = await c.maintenance.alarm({
          action: etcd3.AlarmAction.Get,
          memberID: '0',
          alarm: etcd3.AlarmType.None,
        });
        // the client decodes enums to their proto names (NOSPACE), whatever its typings say
        return r.alarms.flatMap((a) => {
          const name = String(a.alarm).toUpperCase();
          return name === 'NOSPACE' || name === 'CORRUPT' ? [{ memberId: hexId(a.memberID), alarm: name }] : [];
        });
      }),
    disarm: (a) =>
      call(`disarm ${a.alarm} of ${a.memberId}`, async (c) => {
        await c.maintenance.alarm({
          action: etcd3.AlarmAction.Deactivate,
          memberID: decId(a.memberId),
          alarm: a.alarm === 'NOSPACE' ? etcd3.AlarmType.Nospace : etcd3.AlarmType.Corrupt,
        });
      }),
  };
}
