// The TLS Secrets discovery keeps in the namespace: the CA (`deis-etcd-ca`, kubernetes.io/tls with
// tls.crt, tls.key and ca.crt: the layout cert-manager's CA Issuer reads too) and a client certificate
// for people and applications (`deis-etcd-client-tls`: ca.crt, tls.crt, tls.key). Both are created when
// absent; racing starts agree on the first one created. A CA Secret made elsewhere (cert-manager, by
// hand) is used as it is, after the same checks boot makes. The client certificate is issued again
// ahead of its expiry, by the same renew-before rule as the members' certificates.
import { DeisError } from '../errors.ts';
import type { KubeApi } from '../k8s/client.ts';
import { certInfo, checkPair, createCa, issueLeaf, renewAt, type CertInfo, type KeyPair } from './x509.ts';

/** The CA lives long: members' and clients' certificates are the ones that rotate. */
export const CA_LIFETIME_MS = 5 * 365 * 86_400_000;

/** A Secret someone else makes (cert-manager) is not there yet: retried, then exit 3. */
const notYet = (name: string) =>
  new DeisError(
    'environment',
    `Secret ${name} does not exist yet: with --create-tls-secrets=false it is made elsewhere (cert-manager); ` +
      'check that Certificate',
    { retryable: true },
  );

/** The CA from Secret `name`, created with a new CA when absent; an environment error when unusable. */
export async function ensureCaSecret(
  kube: Pick<KubeApi, 'getOrCreateSecretData'>,
  name: string,
  now = Date.now(),
  create = true,
): Promise<KeyPair & { info: CertInfo }> {
  const data = await kube.getOrCreateSecretData(name, 'kubernetes.io/tls', async () => {
    if (!create) throw notYet(name);
    const ca = await createCa('deis-etcd-ca', CA_LIFETIME_MS, now);
    return { 'tls.crt': ca.cert, 'tls.key': ca.key, 'ca.crt': ca.cert };
  });
  const pair = { cert: data['tls.crt'], key: data['tls.key'] };
  if (pair.key === undefined) {
    throw new DeisError(
      'environment',
      `Secret ${name} has no tls.key: a CA Secret needs its key to issue certificates; add it or delete the Secret to have a new CA made`,
    );
  }
  const info = checkPair(
    pair,
    { cert: `Secret ${name} key tls.crt`, key: `Secret ${name} key tls.key` },
    {
      mustBeCa: true,
      now,
    },
  );
  return { cert: pair.cert!, key: pair.key, info };
}

/** The client certificate's subject: an organization, no common name (see ensureClientSecret). */
export const CLIENT_SUBJECT = 'O=deis-etcd, OU=client';

/** How discovery keeps the client Secret: its name, the lifetime of what it issues, the renew-before rule. */
export interface ClientSecretOptions {
  name: string;
  lifetimeMs: number;
  /** Renewed this long ahead of expiry (but not before half its life: {@link renewAt}), as the leaves are. */
  renewBeforeMs: number;
  now: number;
  /** false with cert-manager: the Secret is only read (its Certificate renews it). */
  create: boolean;
}

/** Whether a client Secret's certificate is due for renewal (an unreadable one is left to checkPair). */
function due(data: Record<string, string>, o: ClientSecretOptions): boolean {
  try {
    return o.now >= renewAt(certInfo(data['tls.crt'] ?? ''), o.renewBeforeMs);
  } catch {
    return false;
  }
}

/**
 * The client certificate Secret (ca.crt, tls.crt, tls.key) issued from the CA when absent, and issued
 * again (the Secret updated in place) once it is due under the renew-before rule or expired; otherwise
 * left as it is (a person may hold a copy). Returns its certificate's facts and whether it was renewed.
 */
export async function ensureClientSecret(
  kube: Pick<KubeApi, 'getOrCreateSecretData' | 'updateSecretData'>,
  ca: KeyPair,
  o: ClientSecretOptions,
): Promise<{ info: CertInfo; renewed: boolean }> {
  const issue = async () => {
    // no common name: with authentication etcd would take it as the user name for calls without a
    // token, and its JSON gateway refuses a client certificate that has one (HTTP 400)
    const leaf = await issueLeaf(ca, {
      commonName: 'deis-etcd-client',
      subject: CLIENT_SUBJECT,
      dnsNames: [],
      ipAddresses: [],
      lifetimeMs: o.lifetimeMs,
      now: o.now,
    });
    return { 'ca.crt': ca.cert, 'tls.crt': leaf.cert, 'tls.key': leaf.key };
  };
  let data = await kube.getOrCreateSecretData(o.name, 'kubernetes.io/tls', async () => {
    if (!o.create) throw notYet(o.name);
    return issue();
  });
  let renewed = false;
  if (o.create && due(data, o)) {
    // a racing renewal that got there first leaves a certificate that is no longer due: kept
    data = await kube.updateSecretData(o.name, async (cur) => {
      renewed = due(cur, o);
      return renewed ? issue() : undefined;
    });
  }
  const info = checkPair(
    { cert: data['tls.crt'], key: data['tls.key'] },
    { cert: `Secret ${o.name} key tls.crt`, key: `Secret ${o.name} key tls.key` },
    { now: o.now, signedBy: ca.cert },
  );
  return { info, renewed };
}
