// Loopback addresses for test processes. Each simulated pod or etcd member gets its own address in
// 127.0.0.0/8 (Linux routes the whole block to lo), so members keep etcd's standard ports as pods do.
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
