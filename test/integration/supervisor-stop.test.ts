// Stopping etcd: SIGTERM, then SIGKILL as soon as it logs that its server has stopped (it would wait up
// to 1 s more for its peers' idle connections), or after the grace period when it never does. Real
// child processes (sh) stand in for etcd's shutdown; no timing is asserted, only how each ended.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { STOPPED_MSG, startChild } from '../../internal/supervisor/supervisor.ts';
import { createLogger } from '../../internal/log/log.ts';

const log = createLogger({ level: 'error', write: () => {} });
/** A process that, on SIGTERM, prints `line` and then keeps running for 30 s (as etcd drains its peers). */
const draining = (line: string) =>
  startChild(
    '/bin/sh',
    ['-c', `trap 'echo "${line}"; exec sleep 30' TERM; echo started; while :; do sleep 0.1; done`],
    {
      env: process.env,
      log,
      name: 'etcd',
    },
  );

test('stop: killed once etcd logs that its server has stopped', async () => {
  const c = draining(JSON.stringify({ level: 'info', msg: STOPPED_MSG }).replaceAll('"', '\\"'));
  await new Promise((r) => setTimeout(r, 300)); // the trap is set
  const s = await c.stop(60_000);
  assert.is(s.signal, 'SIGKILL', 'ended by the SIGKILL that follows the stopped message');
});

test('stop: that message before a stop was asked for changes nothing; without it, the grace period', async () => {
  const c = startChild(
    '/bin/sh',
    ['-c', `echo '{"level":"info","msg":"${STOPPED_MSG}"}'; trap 'exit 7' TERM; while :; do sleep 0.1; done`],
    { env: process.env, log, name: 'etcd' },
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(c.running(), 'still running after printing the message unasked');
  const s = await c.stop(60_000);
  assert.is(s.code, 7, 'its own exit on SIGTERM');
  const other = draining('{\\"msg\\":\\"something else\\"}');
  await new Promise((r) => setTimeout(r, 300));
  assert.is((await other.stop(200)).signal, 'SIGKILL', 'killed at the end of the grace period');
});

test.run();
