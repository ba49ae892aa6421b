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
