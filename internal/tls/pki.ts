// A program's own TLS material: the CA read from its mounted Secret (checked: both files, key
// matches, a CA, not expired), a leaf certificate issued for this pod's names and written for etcd
// (ca.crt, tls.crt, tls.key in --tls-dir), and its renewal ahead of expiry while etcd keeps running.
// etcd reads its certificate files again for every new handshake, so rewriting them is the whole
// rotation; clients made after it present (and see) the new certificate.
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Files } from '../files.ts';
import type { Logger } from '../log/log.ts';
import { certInfo, checkPair, issueLeaf, renewAt, type CertInfo, type KeyPair, type LeafRequest } from './x509.ts';

/** The PEM texts a TLS client needs (our etcd clients take these). */
export interface Credentials {
  ca: string;
  cert: string;
  key: string;
}

/** Where etcd finds the files (its --cert-file, --key-file and --trusted-ca-file, peer ones alike). */
export interface TlsPaths {
  ca: string;
  cert: string;
  key: string;
}

export const tlsPaths = (dir: string): TlsPaths => ({
  ca: join(dir, 'ca.crt'),
  cert: join(dir, 'tls.crt'),
  key: join(dir, 'tls.key'),
});

/**
 * Reads and checks the CA from its mounted Secret directory (tls.crt, tls.key): one environment error
 * naming the file otherwise (exit 3). The files' read errors (unreadable) already name the path.
 */
export async function readCa(files: Files, caDir: string, now?: number): Promise<KeyPair & { info: CertInfo }> {
  const source = { cert: join(caDir, 'tls.crt'), key: join(caDir, 'tls.key') };
  const pair = { cert: await files.read(source.cert), key: await files.read(source.key) };
  const info = checkPair(pair, source, { mustBeCa: true, ...(now === undefined ? {} : { now }) });
  return { cert: pair.cert!, key: pair.key!, info };
}

export interface LeafKeeperDeps {
  ca: KeyPair;
  request: Omit<LeafRequest, 'now' | 'lifetimeMs'>;
  lifetimeMs: number;
  renewBeforeMs: number;
  dir: string;
  files: Files;
  clock: Clock;
  log: Logger;
}

/**
 * Keeps this program's leaf certificate: issues it into the directory, and renews it there ahead of
 * expiry. `current()` is what new clients should present.
 */
export class LeafKeeper {
  readonly paths: TlsPaths;
  #creds: Credentials | undefined;
  #info: CertInfo | undefined;
  readonly #renewed: (() => void)[] = [];
  readonly d: LeafKeeperDeps;

  constructor(d: LeafKeeperDeps) {
    this.d = d;
    this.paths = tlsPaths(d.dir);
  }

  current(): Credentials {
    if (!this.#creds) throw new Error('LeafKeeper: issue() first');
    return this.#creds;
  }

  info(): CertInfo | undefined {
    return this.#info;
  }

  /** Runs fn after each renewal (e.g. to drop clients that hold the old certificate). */
  onRenew(fn: () => void): void {
    this.#renewed.push(fn);
  }

  /** Issues a new leaf and replaces the files at once (etcd's next handshake reads them). */
  async issue(): Promise<CertInfo> {
    const { d } = this;
    const leaf = await issueLeaf(d.ca, { ...d.request, lifetimeMs: d.lifetimeMs, now: d.clock.now() });
    await d.files.ensureWritableDir(d.dir, '--tls-dir');
    await d.files.writeSet(d.dir, { 'ca.crt': d.ca.cert, 'tls.crt': leaf.cert, 'tls.key': leaf.key });
    const info = certInfo(leaf.cert);
    const renewed = this.#creds !== undefined;
    this.#creds = { ca: d.ca.cert, cert: leaf.cert, key: leaf.key };
    this.#info = info;
    d.log.info(renewed ? 'certificate renewed' : 'certificate issued', {
      serial: info.serial,
      notAfter: new Date(info.notAfter).toISOString(),
      dnsNames: info.dnsNames,
      ipAddresses: info.ipAddresses,
    });
    if (renewed) for (const fn of this.#renewed) fn();
    return info;
  }

  /**
   * Renews ahead of expiry until `signal` aborts: sleeps until the renewal time, issues, repeats. A
   * failed renewal is logged and retried a minute later (the old certificate still serves meanwhile).
   */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, log, renewBeforeMs } = this.d;
    while (!signal.aborted) {
      const info = this.#info ?? (await this.issue());
      const wait = Math.max(0, renewAt(info, renewBeforeMs) - clock.now());
      await clock.sleep(wait, signal);
      if (signal.aborted) return;
      try {
        await this.issue();
      } catch (err) {
        log.warn('certificate renewal failed; retrying', { err, backoffMs: 60_000 });
        await clock.sleep(60_000, signal);
      }
    }
  }
}
