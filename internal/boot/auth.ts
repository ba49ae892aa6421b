// boot's part of etcd authentication (with --auth): root's password from the mounted Secret (boot's
// own calls authenticate as root once etcd asks), and on the leader each heal pass: authentication
// enabled once (idempotent: a new cluster, a rebuilt one, and after a quorum recovery alike) and the
// application user declared in the mounted ConfigMap created or updated.
import type { BootConfig } from '../config/boot.ts';
import { missingRootPassword } from '../config/auth.ts';
import { DeisError } from '../errors.ts';
import type { EtcdApi } from '../etcd/client.ts';
import type { Files } from '../files.ts';
import type { Logger } from '../log/log.ts';
import { join } from 'node:path';

/** The credentials boot's member clients use; undefined without --auth. */
export async function rootCredentials(
  cfg: BootConfig,
  files: Files,
): Promise<{ username: string; password: string } | undefined> {
  if (!cfg.auth.enabled) return undefined;
  const password = (await files.read(cfg.auth.rootPasswordFile))?.trim();
  if (!password) throw missingRootPassword(cfg.auth.rootPasswordFile);
  return { username: 'root', password };
}

/** The application user as declared (ConfigMap files user and prefix, password Secret); undefined: none. */
export async function appUser(
  cfg: BootConfig,
  files: Files,
): Promise<{ user: string; prefix: string; password: string } | undefined> {
  const user = (await files.read(join(cfg.auth.appUserDir, 'user')))?.trim();
  if (!user) return undefined;
  const prefix = (await files.read(join(cfg.auth.appUserDir, 'prefix')))?.trim() ?? '';
  const password = (await files.read(cfg.auth.appPasswordFile))?.trim();
  if (!prefix || !password) {
    throw new DeisError(
      'environment',
      `application user ${user}: ${!prefix ? `${join(cfg.auth.appUserDir, 'prefix')} is missing or empty` : `${cfg.auth.appPasswordFile} is missing or empty`}: declare a key prefix in the ConfigMap and mount the Secret deis-etcd-app`,
    );
  }
  if (user === 'root')
    throw new DeisError('environment', `the application user cannot be root: name another in the ConfigMap`);
  return { user, prefix, password };
}

/** What the leader last applied, so that an unchanged declaration costs one status read per pass. */
export interface AuthState {
  applied?: string;
}

const NONE = 'none';

/** On the leader: authentication on (once), the application user as declared. */
export async function ensureAuth(
  ctx: { cfg: BootConfig; files: Files; log: Logger },
  etcd: EtcdApi,
  root: { password: string },
  state: AuthState,
): Promise<void> {
  if (await etcd.enableAuth(root.password)) ctx.log.info('authentication enabled', { user: 'root' });
  const app = await appUser(ctx.cfg, ctx.files);
  if (!app) {
    // said once: an absent ConfigMap (it is optional) looks like no declaration at all
    if (state.applied !== NONE)
      ctx.log.info('no application user declared', { file: join(ctx.cfg.auth.appUserDir, 'user') });
    state.applied = NONE;
    return;
  }
  const want = JSON.stringify(app);
  if (want === state.applied) return;
  await etcd.ensureUser(app.user, app.password, app.prefix);
  state.applied = want;
  ctx.log.info('application user ready', { user: app.user, prefix: app.prefix });
}
