// status's transport straight to a pod (in a pod, or on the pod network): plain HTTP, or https with
// the cluster's client certificate when it uses TLS; and where that certificate and root's password
// come from (flags, else the Secrets discovery makes).
import { requestText } from '../http-request.ts';
import type { StatusConfig } from '../config/status.ts';
import { DeisError, isReason } from '../errors.ts';
import type { Files } from '../files.ts';
import type { ClusterApi } from '../k8s/cluster.ts';
import type { Credentials } from '../tls/pki.ts';
import type { DirectHttp } from './collect.ts';

/** What status presents to the members: a client certificate (TLS), root's credentials (auth). */
export interface Security {
  tls?: Credentials;
  auth?: { username: string; password: string };
}

/** A Secret's key, or undefined when absent or not readable by this identity (status then goes without). */
const optionalKey = (api: ClusterApi, name: string, key: string) =>
  api.secretKey(name, key).catch((err: unknown) => {
    if (isReason(err, 'forbidden')) return undefined;
    throw err;
  });

/** The client certificate (files by flag, else the client Secret) and root's password (its Secret). */
export async function resolveSecurity(
  cfg: StatusConfig,
  api: ClusterApi,
  files: Pick<Files, 'read'>,
): Promise<Security> {
  let tls: Credentials | undefined;
  if (cfg.tlsFiles) {
    const f = cfg.tlsFiles;
    const [ca, cert, key] = await Promise.all([files.read(f.ca), files.read(f.cert), files.read(f.key)]);
    const missing = Object.entries({ [f.ca]: ca, [f.cert]: cert, [f.key]: key }).find(([, v]) => !v?.trim());
    if (missing)
      throw new DeisError('config', `${missing[0]} is missing or empty: pass the client certificate's files`);
    tls = { ca: ca!, cert: cert!, key: key! };
  } else {
    const [ca, cert, key] = await Promise.all(
      ['ca.crt', 'tls.crt', 'tls.key'].map((k) => optionalKey(api, cfg.clientSecret, k)),
    );
    if (ca && cert && key) tls = { ca, cert, key };
  }
  const password = (await optionalKey(api, cfg.rootSecret, 'password'))?.trim();
  return { ...(tls ? { tls } : {}), ...(password ? { auth: { username: 'root', password } } : {}) };
}

/** HTTP(S) straight to a pod, bounded; https presents `tls` and trusts only its CA. */
export function directHttp(tls?: Credentials): DirectHttp {
  return (url, body, timeoutMs, headers) => {
    const u = new URL(url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const signal = AbortSignal.timeout(timeoutMs);
    const opts = {
      method: payload === undefined ? 'GET' : 'POST',
      headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      signal,
      // no SNI: the host is an IP (the pod's), which TLS's server name may not carry
      ...(u.protocol === 'https:'
        ? { servername: '', ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}) }
        : {}),
    };
    // a timeout reads as such in the table ("no answer within ...")
    return requestText(u, opts, payload).catch((err: Error) => {
      throw signal.aborted ? Object.assign(new Error(err.message), { name: 'TimeoutError' }) : err;
    });
  };
}
