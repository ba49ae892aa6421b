// One HTTP(S) request whose reply is read whole as text: status's pod-proxy calls (internal/k8s)
// and its direct calls to the pods (internal/status) share it.
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';

/**
 * Sends `payload` (none: no body) to `url` with `opts` (http or https by the URL's scheme) and
 * resolves with the status and the body as text; rejects on a connection error. `onRequest` may bound
 * the request (a timeout that destroys it).
 */
export function requestText(
  url: URL,
  opts: RequestOptions,
  payload: string | undefined,
  onRequest?: (req: ClientRequest) => void,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    onRequest?.(req);
    req.on('error', reject);
    req.end(payload);
  });
}

/** What a runner reads from an HTTP answer (a subset of fetch's Response, which tests may pass). */
export interface HttpAnswer {
  ok: boolean;
  status: number;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/**
 * GET over node:http(s), the runners' HTTP probe (etcd's /health and /metrics). Not the global
 * fetch: the first touch of it loads Node's bundled undici and its WebAssembly HTTP parser, ~25 MiB
 * of resident memory in every boot and discovery process for a few GETs (bench/rss.ts, README).
 */
export async function httpGet(url: string, init?: { signal?: AbortSignal }): Promise<HttpAnswer> {
  const { status, body } = await requestText(new URL(url), { method: 'GET', signal: init?.signal }, undefined);
  return {
    ok: status >= 200 && status < 300,
    status,
    text: async () => body,
    json: async () => JSON.parse(body) as unknown,
  };
}
