// The health, readiness and metrics endpoints both programs serve: /healthz (the process is alive and
// its etcd runs), /readyz (ready to serve: each program decides what that means) and /metrics in
// Prometheus' text format.
import { createServer, type Server } from 'node:http';
import { DeisError } from '../errors.ts';

export interface Probes {
  healthz(): Promise<boolean> | boolean;
  readyz(): Promise<boolean> | boolean;
  metrics(): Promise<string> | string;
}

export function startHttpServer(host: string, port: number, probes: Probes): Promise<Server> {
  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz' || path === '/readyz') {
        const ok = await (path === '/healthz' ? probes.healthz() : probes.readyz());
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ok\n');
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(await probes.metrics());
      } else {
        res.writeHead(404).end('not found\n');
      }
    } catch {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new DeisError(
          'environment',
          `cannot listen on ${host}:${port} for health and metrics: ${err.message}; set --http-port`,
          { cause: err },
        ),
      ),
    );
    server.listen({ host, port }, () => resolve(server));
  });
}

type Labels = Record<string, string>;
interface Series {
  help: string;
  type: 'gauge' | 'counter';
  values: Map<string, number>;
}
interface Histogram {
  help: string;
  /** Upper bounds, ascending (+Inf is implied). */
  buckets: readonly number[];
  /** Per label set: cumulative counts per bucket, sum and count. */
  values: Map<string, { counts: number[]; sum: number; count: number }>;
}

/** A small registry of gauges, counters and histograms rendered in Prometheus' text exposition format. */
export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly histograms = new Map<string, Histogram>();

  private get(name: string, help: string, type: 'gauge' | 'counter'): Series {
    let s = this.series.get(name);
    if (!s) {
      s = { help, type, values: new Map() };
      this.series.set(name, s);
    }
    return s;
  }

  private static key(labels: Labels = {}): string {
    const parts = Object.entries(labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`);
    return parts.length ? `{${parts.join(',')}}` : '';
  }

  declare(name: string, help: string, type: 'gauge' | 'counter'): void {
    this.get(name, help, type);
  }
  set(name: string, value: number, labels?: Labels): void {
    this.get(name, name, 'gauge').values.set(Metrics.key(labels), value);
  }
  inc(name: string, labels?: Labels, by = 1): void {
    const s = this.get(name, name, 'counter');
    const k = Metrics.key(labels);
    s.values.set(k, (s.values.get(k) ?? 0) + by);
  }

  declareHistogram(name: string, help: string, buckets: readonly number[]): void {
    this.histograms.set(name, { help, buckets: [...buckets].sort((x, y) => x - y), values: new Map() });
  }
  /** One observation of a declared histogram (an undeclared name is a programming error). */
  observe(name: string, value: number, labels?: Labels): void {
    const h = this.histograms.get(name);
    if (!h) throw new Error(`metrics: histogram ${name} is not declared`);
    const k = Metrics.key(labels);
    let v = h.values.get(k);
    if (!v) {
      v = { counts: h.buckets.map(() => 0), sum: 0, count: 0 };
      h.values.set(k, v);
    }
    h.buckets.forEach((le, i) => {
      if (value <= le) v.counts[i]!++;
    });
    v.sum += value;
    v.count++;
  }

  render(): string {
    let out = '';
    for (const [name, s] of this.series) {
      out += `# HELP ${name} ${s.help}\n# TYPE ${name} ${s.type}\n`;
      for (const [k, v] of s.values) out += `${name}${k} ${v}\n`;
    }
    for (const [name, h] of this.histograms) {
      out += `# HELP ${name} ${h.help}\n# TYPE ${name} histogram\n`;
      for (const [k, v] of h.values) {
        const inner = k.slice(1, -1);
        const withLe = (le: string) => `{${inner ? `${inner},` : ''}le="${le}"}`;
        h.buckets.forEach((le, i) => {
          out += `${name}_bucket${withLe(String(le))} ${v.counts[i]}\n`;
        });
        out += `${name}_bucket${withLe('+Inf')} ${v.count}\n${name}_sum${k} ${v.sum}\n${name}_count${k} ${v.count}\n`;
      }
    }
    return out;
  }
}
