// The runners' HTTP GET (internal/http-request.ts httpGet) against a real node:http server on
// loopback: status, text and JSON, a timeout through the abort signal, a refused connection; and that
// a runner using it never loads Node's bundled undici (the global fetch), the memory it exists to save.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { httpGet } from '../../internal/http-request.ts';

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const rejected = (p: Promise<unknown>) =>
  p.then(
    () => false,
    () => true,
  );

test('httpGet: status, text and JSON of an answer', async () => {
  const { url, server } = await serve((req, res) => {
    if (req.url === '/health') return void res.end('{"health":"true"}');
    res.statusCode = 503;
    res.end('x'.repeat(300_000));
  });
  try {
    const ok = await httpGet(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    assert.is(ok.ok, true);
    assert.equal(await ok.json(), { health: 'true' });
    const down = await httpGet(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    assert.is(down.ok, false);
    assert.is(down.status, 503);
    assert.is((await down.text()).length, 300_000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('httpGet: the signal bounds a server that never answers; a refused connection rejects', async () => {
  const { url, server } = await serve(() => undefined);
  try {
    const t0 = Date.now();
    assert.is(await rejected(httpGet(`${url}/health`, { signal: AbortSignal.timeout(200) })), true);
    assert.ok(Date.now() - t0 < 10_000, 'the abort ended the request');
  } finally {
    server.closeAllConnections();
    server.close();
  }
  assert.is(await rejected(httpGet(url, { signal: AbortSignal.timeout(2000) })), true);
});

test('httpGet, bundled as the programs are, does not load the global fetch (undici)', async () => {
  // bundled as build/bundle.ts does (require of node:http): in ES module form, Node's `import 'node:http'` itself
  // loads undici (the namespace reads http's lazy WebSocket getters), which a bundle's require does not
  const bundled = await build({
    entryPoints: [new URL('../../internal/http-request.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'iife',
    globalName: 'lib',
    write: false,
    logLevel: 'silent',
  });
  const run = (use: string) =>
    execFileSync(
      process.execPath,
      [
        '-e',
        `${bundled.outputFiles[0]!.text}
      const s = require('node:http').createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', async () => {
        const url = 'http://127.0.0.1:' + s.address().port + '/';
        await (await ${use}(url, { signal: AbortSignal.timeout(2000) })).text();
        s.close();
        console.log(process.moduleLoadList.some((m) => m.includes('undici')));
      });`,
      ],
      { encoding: 'utf8' },
    ).trim();
  assert.is(run('lib.httpGet'), 'false');
  assert.is(run('fetch'), 'true', 'the check can fail: the global fetch loads undici');
});

test.run();
