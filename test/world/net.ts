// Loopback addresses for test processes. Each simulated pod or etcd member gets its own address in
// 127.0.0.0/8 (Linux routes the whole block to lo), so members keep etcd's standard ports as pods do.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * A random address in 127.64.0.0/10 whose given ports are all free. Random rather than sequential so
 * that test files running at the same time (or a leftover process) do not collide.
 */
export async function freeAddress(ports: number[] = [2379, 2380]): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = () => Math.floor(Math.random() * 254) + 1;
    const host = `127.${64 + Math.floor(Math.random() * 64)}.${r()}.${r()}`;
    let free = true;
    for (const port of ports) free = free && (await canBind(host, port));
    if (free) return host;
  }
  throw new Error('no free loopback address found after 50 tries');
}

/** A free TCP port on host, chosen by the kernel. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The IPv4 addresses that have a listening TCP socket now (from /proc/net/tcp; empty elsewhere). The
 * node agent skips them when it gives a pod an address, so that two worlds on one pod network (a `make
 * up` beside a test run) do not hand out the same address.
 */
export function listeningAddresses(): Set<string> {
  const out = new Set<string>();
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return out;
  }
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[3] !== '0A') continue; // TCP_LISTEN
    const hex = f[1]?.split(':')[0];
    if (hex?.length !== 8) continue;
    // little-endian: 0100007F is 127.0.0.1
    out.add([3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.'));
  }
  return out;
}
