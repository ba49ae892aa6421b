// Stopping etcd: SIGTERM, then SIGKILL as soon as it logs that its server has stopped (it would wait up
// to 1 s more for its peers' idle connections), or after the grace period when it never does. Real
// child processes (sh) stand in for etcd's shutdown; no timing is asserted, only how each ended. Each
// test waits for the child's own "ready" line (its trap is set by then), never a fixed sleep.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { STOPPED_MSG, startChild } from '../../internal/supervisor/supervisor.ts';
import { createLogger } from '../../internal/log/log.ts';
import { waitFor } from '../world/procs.ts';

/** A child whose printed lines are kept, and a wait (bounded) until one of them contains `text`. */
function child(script: string) {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => void lines.push(l) });
  const c = startChild('/bin/sh', ['-c', script], { env: process.env, log, name: 'etcd' });
  const printed = (text: string) =>
    waitFor(`the child printed ${text}`, () => lines.some((l) => l.includes(text)), 10_000, 20);
  return { c, printed };
}

/** On SIGTERM it prints `line` and then keeps running for 30 s (as etcd drains its peers). */
const draining = (line: string) =>
  child(`trap 'echo "${line}"; exec sleep 30' TERM; echo ready; while :; do sleep 0.1; done`);

test('stop: killed once etcd logs that its server has stopped', async () => {
  const { c, printed } = draining(JSON.stringify({ level: 'info', msg: STOPPED_MSG }).replaceAll('"', '\\"'));
  await printed('ready');
  const s = await c.stop(60_000);
  assert.is(
    s.signal,
    'SIGKILL',
    'ended by the SIGKILL that follows the stopped message (else: sleep 30 ends it with 0)',
  );
});

test('stop: that message before a stop was asked for changes nothing', async () => {
  const { c, printed } = child(
    `trap 'exit 7' TERM; echo '{"level":"info","msg":"${STOPPED_MSG}"}'; echo ready; while :; do sleep 0.1; done`,
  );
  await printed('ready');
  assert.ok(c.running(), 'still running after printing the message unasked');
  const s = await c.stop(60_000);
  assert.is(s.code, 7, 'its own exit on SIGTERM');
});

test('stop: without that message, SIGKILL at the end of the grace period', async () => {
  const { c, printed } = draining('{\\"msg\\":\\"something else\\"}');
  await printed('ready');
  assert.is((await c.stop(200)).signal, 'SIGKILL');
});

test.run();
