// The TLS Secrets discovery keeps in the namespace: the CA (`deis-etcd-ca`, kubernetes.io/tls with
// tls.crt, tls.key and ca.crt: the layout cert-manager's CA Issuer reads too) and a client certificate
// for people and applications (`deis-etcd-client-tls`: ca.crt, tls.crt, tls.key). Both are created when
// absent; racing starts agree on the first one created. A CA Secret made elsewhere (cert-manager, by
// hand) is used as it is, after the same checks boot makes.
import { DeisError } from '../errors.ts';
import type { KubeApi } from '../k8s/client.ts';
import { checkPair, createCa, issueLeaf, type CertInfo, type KeyPair } from './x509.ts';

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

/**
 * The client certificate Secret `name` (ca.crt, tls.crt, tls.key) issued from the CA when absent.
 * Returns its certificate's facts. An existing one is left as it is (a person may hold a copy).
 */
export async function ensureClientSecret(
  kube: Pick<KubeApi, 'getOrCreateSecretData'>,
  name: string,
  ca: KeyPair,
  lifetimeMs: number,
  now = Date.now(),
  create = true,
): Promise<CertInfo> {
  const data = await kube.getOrCreateSecretData(name, 'kubernetes.io/tls', async () => {
    if (!create) throw notYet(name);
    const leaf = await issueLeaf(ca, {
      commonName: 'deis-etcd-client',
      dnsNames: [],
      ipAddresses: [],
      lifetimeMs,
      now,
    });
    return { 'ca.crt': ca.cert, 'tls.crt': leaf.cert, 'tls.key': leaf.key };
  });
  return checkPair(
    { cert: data['tls.crt'], key: data['tls.key'] },
    { cert: `Secret ${name} key tls.crt`, key: `Secret ${name} key tls.key` },
    { now, signedBy: ca.cert },
  );
}
