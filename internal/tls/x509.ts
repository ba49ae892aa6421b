// X.509 for deis-etcd: a CA, leaf certificates signed by it (server and client usage in one, for
// etcd's client and peer listeners and for our own clients), and the checks that turn a bad PEM, a
// key that does not match its certificate or an expired certificate into one clear environment error.
// Everything goes through @peculiar/x509 on Node's WebCrypto: no hand-written ASN.1.
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import {
  X509Certificate as NodeX509,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  type webcrypto as wc,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DeisError } from '../errors.ts';

const webcrypto = globalThis.crypto;
x509.cryptoProvider.set(webcrypto);

/** ECDSA P-256 with SHA-256: small keys, fast to make, accepted by Go's crypto/tls and grpc-js. */
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface KeyPair {
  cert: string;
  key: string;
}

/** What a leaf certificate is for: names and addresses it must match, and its lifetime. */
export interface LeafRequest {
  commonName: string;
  /** The subject's distinguished name instead of `CN=<commonName>` (e.g. one without a common name). */
  subject?: string;
  /** DNS names (first one also used as the common name when none is given). */
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  lifetimeMs: number;
  /** Defaults to now. */
  now?: number;
}

/** What a parsed certificate tells us. */
export interface CertInfo {
  serial: string;
  subject: string;
  notBefore: number;
  notAfter: number;
  isCa: boolean;
  dnsNames: string[];
  ipAddresses: string[];
}

// a positive 128-bit serial (the top bit cleared so that DER does not read it as negative)
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

async function exportKey(key: wc.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<wc.CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error('no PEM block');
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

/** A self-signed CA certificate (CA:true, keyCertSign) and its key. */
export async function createCa(commonName: string, lifetimeMs: number, now = Date.now()): Promise<KeyPair> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + lifetimeMs),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

/**
 * A leaf certificate signed by the CA, usable as a TLS server and client certificate (etcd's peers
 * are both), with the request's DNS names and IP addresses as SANs. The CA pair must be valid
 * (checkPair first); the leaf never outlives the CA.
 */
export async function issueLeaf(ca: KeyPair, req: LeafRequest): Promise<KeyPair> {
  const now = req.now ?? Date.now();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importKey(ca.key);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const notAfter = Math.min(now + req.lifetimeMs, caCert.notAfter.getTime());
  const names: x509.JsonGeneralName[] = [
    ...[...new Set(req.dnsNames)].map((value) => ({ type: 'dns' as const, value })),
    ...[...new Set(req.ipAddresses)].map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: req.subject ?? `CN=${req.commonName}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(notAfter),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

/** Parses the first certificate of a PEM text. Throws a plain Error on anything else. */
export function certInfo(pem: string): CertInfo {
  const c = new NodeX509(pem);
  const san = (c.subjectAltName ?? '').split(', ').filter(Boolean);
  return {
    serial: c.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    subject: c.subject,
    notBefore: Date.parse(c.validFrom),
    notAfter: Date.parse(c.validTo),
    isCa: c.ca,
    dnsNames: san.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
    ipAddresses: san.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice(11)),
  };
}

/**
 * Checks a certificate and key read from `source` (a file or Secret name, for the message): both
 * parse, the key belongs to the certificate, the certificate is valid now, and (when `ca` is given)
 * it is a CA or was signed by that CA. Returns the certificate's facts; throws one 'environment'
 * error naming the source and the fix otherwise.
 */
export function checkPair(
  pair: { cert: string | undefined; key: string | undefined },
  source: { cert: string; key: string },
  opts: { now?: number; mustBeCa?: boolean; signedBy?: string } = {},
): CertInfo {
  const bad = (what: string, fix: string) => new DeisError('environment', `${what}: ${fix}`);
  if (pair.cert === undefined || !pair.cert.trim()) throw bad(`${source.cert} is missing or empty`, 'mount it');
  if (pair.key === undefined || !pair.key.trim()) throw bad(`${source.key} is missing or empty`, 'mount it');
  let cert: NodeX509;
  try {
    cert = new NodeX509(pair.cert);
  } catch {
    throw bad(
      `${source.cert} is not a PEM certificate`,
      'replace it with the certificate (-----BEGIN CERTIFICATE-----)',
    );
  }
  let matches: boolean;
  try {
    const pub = createPublicKey(createPrivateKey(pair.key));
    matches = pub
      .export({ format: 'der', type: 'spki' })
      .equals(cert.publicKey.export({ format: 'der', type: 'spki' }));
  } catch {
    throw bad(`${source.key} is not a PEM private key`, 'replace it with the key (-----BEGIN PRIVATE KEY-----)');
  }
  if (!matches)
    throw bad(`${source.key} does not belong to ${source.cert}`, 'mount the key made with that certificate');
  const info = certInfo(pair.cert);
  const now = opts.now ?? Date.now();
  if (info.notAfter <= now) {
    throw bad(
      `${source.cert} expired at ${new Date(info.notAfter).toISOString()}`,
      'replace it (delete the Secret to have a new one made)',
    );
  }
  if (info.notBefore > now) {
    throw bad(`${source.cert} is not valid before ${new Date(info.notBefore).toISOString()}`, 'check the clock');
  }
  if (opts.mustBeCa && !info.isCa) throw bad(`${source.cert} is not a CA certificate`, 'mount the CA (CA:TRUE)');
  if (opts.signedBy !== undefined) {
    let signed = false;
    try {
      signed = cert.verify(new NodeX509(opts.signedBy).publicKey);
    } catch {
      signed = false;
    }
    if (!signed)
      throw bad(
        `${source.cert} was not signed by the CA`,
        'issue it from that CA, or delete its Secret to have one issued',
      );
  }
  return info;
}

/**
 * When a certificate with these dates should be renewed: `renewBeforeMs` ahead of expiry, but not
 * before halfway through its life (a threshold longer than the lifetime would renew without end).
 */
export function renewAt(info: Pick<CertInfo, 'notBefore' | 'notAfter'>, renewBeforeMs: number): number {
  const half = info.notBefore + (info.notAfter - info.notBefore) / 2;
  return Math.max(half, info.notAfter - renewBeforeMs);
}

/** The names a Service answers to: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<domain>`. */
export function serviceNames(service: string, namespace: string | undefined, domain: string): string[] {
  if (!namespace) return [service];
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${domain}`];
}
