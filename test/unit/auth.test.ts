// boot's authentication part on fakes: root's password file, the application user's declaration, and
// the leader's pass that enables authentication once and applies the user only when it changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appUser, ensureAuth, rootCredentials, type AuthState } from '../../internal/boot/auth.ts';
import { validateBoot } from '../../internal/config/boot.ts';
import type { RawOptions } from '../../internal/config/options.ts';
import { DeisError, exitCodeFor } from '../../internal/errors.ts';
import { FakeCluster } from '../fakes/etcd.ts';
import { memoryFiles } from '../fakes/files.ts';
import { memoryLogger } from '../fakes/log.ts';

const raw = (o: Record<string, string>): RawOptions =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, source: `--${k}` }]));
const cfg = validateBoot(
  raw({
    name: 'etcd-0',
    auth: 'true',
    'root-password-file': '/r/password',
    'app-user-dir': '/app',
    'app-password-file': '/a/password',
  }),
  {},
);

async function envError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, DeisError);
    assert.is(exitCodeFor(err), 3);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

test('root credentials: the trimmed password file; missing or empty names the file and the Secret', async () => {
  assert.equal(await rootCredentials(cfg, memoryFiles({ '/r/password': 'pw\n' })), {
    username: 'root',
    password: 'pw',
  });
  assert.match(
    await envError(rootCredentials(cfg, memoryFiles())),
    /^\/r\/password is missing or empty: mount the Secret deis-etcd-root/,
  );
  assert.match(await envError(rootCredentials(cfg, memoryFiles({ '/r/password': ' \n' }))), /is missing or empty/);
  assert.is(
    await rootCredentials(validateBoot(raw({ name: 'etcd-0' }), {}), memoryFiles()),
    undefined,
    'without --auth',
  );
});

test('the application user: none without a declaration; a declared one needs its prefix and password; never root', async () => {
  assert.is(await appUser(cfg, memoryFiles()), undefined);
  assert.equal(
    await appUser(cfg, memoryFiles({ '/app/user': 'app\n', '/app/prefix': '/app/\n', '/a/password': 'x' })),
    {
      user: 'app',
      prefix: '/app/',
      password: 'x',
    },
  );
  assert.match(
    await envError(appUser(cfg, memoryFiles({ '/app/user': 'app', '/a/password': 'x' }))),
    /\/app\/prefix is missing or empty/,
  );
  assert.match(
    await envError(appUser(cfg, memoryFiles({ '/app/user': 'app', '/app/prefix': '/p/' }))),
    /\/a\/password is missing or empty/,
  );
  assert.match(
    await envError(appUser(cfg, memoryFiles({ '/app/user': 'root', '/app/prefix': '/p/', '/a/password': 'x' }))),
    /cannot be root/,
  );
});

test('the leader pass: authentication enabled once; the user applied when its declaration changes', async () => {
  const cluster = new FakeCluster();
  cluster.addMember(1);
  const etcd = cluster.connect(['http://127.0.0.1:2379']);
  const files = memoryFiles({ '/app/user': 'app', '/app/prefix': '/app/', '/a/password': 'x' });
  const log = memoryLogger();
  const state: AuthState = {};
  for (let i = 0; i < 3; i++) await ensureAuth({ cfg, files, log }, etcd, { password: 'pw' }, state);
  assert.equal(
    cluster.calls.filter((c) => c.startsWith('auth') || c.startsWith('user')),
    ['auth enable', 'user app /app/'],
  );
  assert.equal(cluster.auth.users.get('root'), { password: 'pw' });
  await files.write('/app/prefix', '/app2/');
  await ensureAuth({ cfg, files, log }, etcd, { password: 'pw' }, state);
  assert.equal(cluster.auth.users.get('app'), { password: 'x', prefix: '/app2/' });
  assert.equal(log.messages().filter((m) => m === 'authentication enabled').length, 1);
});

test('the leader pass with no declaration (the optional ConfigMap absent): said once, no user made', async () => {
  const cluster = new FakeCluster();
  cluster.addMember(1);
  const etcd = cluster.connect(['http://127.0.0.1:2379']);
  const log = memoryLogger();
  const state: AuthState = {};
  for (let i = 0; i < 3; i++) await ensureAuth({ cfg, files: memoryFiles({}), log }, etcd, { password: 'pw' }, state);
  assert.equal(log.messages().filter((m) => m === 'no application user declared').length, 1);
  assert.not.ok(cluster.auth.users.has('app'));
});

test.run();
