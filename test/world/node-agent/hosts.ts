// The test world's cluster DNS: one hosts file, bind-mounted at every container's /etc/hosts, naming
// <hostname>.<subdomain>.<namespace>.svc.<domain> for each running pod with a hostname and subdomain
// (a StatefulSet's pods under its headless Service). It is rewritten in place as pods come and go.
import { writeFileSync } from 'node:fs';
import type { Run } from './state.ts';

export class HostsFile {
  readonly path: string;
  private readonly domain: string;
  private text = '';

  constructor(path: string, domain = 'cluster.local') {
    this.path = path;
    this.domain = domain;
    writeFileSync(path, '127.0.0.1 localhost\n');
  }

  /** Rewrites the file for these pods (pods being deleted are left out); unchanged text is not written. */
  update(runs: Iterable<Run>): void {
    const lines = ['127.0.0.1 localhost'];
    for (const r of runs) {
      const { hostname, subdomain } = r.pod.spec ?? {};
      if (r.killing || !hostname || !subdomain) continue;
      const short = `${hostname}.${subdomain}.${r.ns}`;
      lines.push(`${r.ip} ${short}.svc.${this.domain} ${short}.svc ${short}`);
    }
    const text = `${lines.join('\n')}\n`;
    if (text !== this.text) {
      writeFileSync(this.path, text); // in place: the bind mounts see the same inode
      this.text = text;
    }
  }
}
