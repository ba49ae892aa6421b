// The authentication half of the etcd adapter: enabling etcd's authentication once with a root user,
// and an application user confined to a key prefix. Built by connectEtcd with its call wrapper.
import * as etcd3 from 'etcd3';
import type { EtcdApi } from './api.ts';
import type { CallDeps } from './maintenance.ts';

/** Swallows etcd3's "already exists" errors (a user or role made by an earlier, interrupted run). */
async function unlessExists(err: unknown): Promise<void> {
  if (err instanceof etcd3.EtcdUserExistsError || err instanceof etcd3.EtcdRoleExistsError) return;
  throw err;
}

/** The end of etcd's range for a key prefix: the prefix with its last byte below 0xff incremented. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] ?? 0) < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = (end[i] ?? 0) + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

export function authApi(call: CallDeps['call']): Pick<EtcdApi, 'enableAuth' | 'ensureUser'> {
  return {
    enableAuth: (rootPassword) =>
      call('enable authentication', async (c) => {
        if ((await c.auth.authStatus()).enabled) return false;
        await c.auth.userAdd({ name: 'root', password: rootPassword }).catch(unlessExists);
        await c.auth.userGrantRole({ user: 'root', role: 'root' });
        await c.auth.authEnable();
        return true;
      }),
    ensureUser: (user, password, prefix) =>
      call(`user ${user}`, async (c) => {
        await c.auth.roleAdd({ name: user }).catch(unlessExists);
        const { perm } = await c.auth.roleGet({ role: user });
        for (const p of perm) {
          if (p.key.equals(Buffer.from(prefix)) && p.range_end.equals(prefixEnd(prefix))) continue;
          await c.auth.roleRevokePermission({ role: user, key: p.key, range_end: p.range_end });
        }
        await c.auth.roleGrantPermission({
          name: user,
          perm: { permType: 'Readwrite', key: Buffer.from(prefix), range_end: prefixEnd(prefix) },
        });
        const added = await c.auth.userAdd({ name: user, password }).then(
          () => true,
          (err: unknown) => unlessExists(err).then(() => false),
        );
        if (!added) await c.auth.userChangePassword({ name: user, password });
        await c.auth.userGrantRole({ user, role: user });
      }),
  };
}
