// etcd authentication settings (off by default): the root password both programs deal with (discovery
// creates its Secret, boot reads the mounted file) and the application user boot's leader keeps.
import { DeisError } from '../errors.ts';
import type { OptionSpec } from './options.ts';

export const DEFAULT_ROOT_SECRET = 'deis-etcd-root';
export const DEFAULT_APP_SECRET = 'deis-etcd-app';

export const bootAuthOptions = [
  {
    flag: 'auth',
    type: 'boolean',
    default: false,
    describe:
      'etcd authentication: the leader adds user root (password from --root-password-file) and enables it once; ' +
      "boot's own calls authenticate as root",
  },
  {
    flag: 'root-password-file',
    type: 'string',
    default: '/var/run/secrets/deis/etcd/root/password',
    describe: "file holding root's password (the mounted Secret deis-etcd-root)",
  },
  {
    flag: 'app-user-dir',
    type: 'string',
    default: '/etc/deis/etcd/app',
    describe:
      'with --auth: directory of the mounted ConfigMap declaring the application user (files user and prefix: ' +
      'it may read and write keys under prefix only); absent: no application user',
  },
  {
    flag: 'app-password-file',
    type: 'string',
    default: '/var/run/secrets/deis/etcd/app/password',
    describe: "file holding the application user's password (the mounted Secret deis-etcd-app)",
  },
] as const satisfies readonly OptionSpec[];

export const discoveryAuthOptions = [
  {
    flag: 'auth',
    type: 'boolean',
    default: false,
    describe: 'with Kubernetes: create --root-secret and --app-secret with random passwords when absent',
  },
  {
    flag: 'root-secret',
    type: 'string',
    default: DEFAULT_ROOT_SECRET,
    describe: "Secret holding etcd root's password (key password)",
  },
  {
    flag: 'app-secret',
    type: 'string',
    default: DEFAULT_APP_SECRET,
    describe: "Secret holding the application user's password (key password)",
  },
] as const satisfies readonly OptionSpec[];

export interface BootAuthConfig {
  readonly enabled: boolean;
  readonly rootPasswordFile: string;
  readonly appUserDir: string;
  readonly appPasswordFile: string;
}

export interface DiscoveryAuthConfig {
  readonly enabled: boolean;
  readonly rootSecret: string;
  readonly appSecret: string;
}

type BootAuthFlag = (typeof bootAuthOptions)[number]['flag'];
type DiscoveryAuthFlag = (typeof discoveryAuthOptions)[number]['flag'];

export function validateBootAuth(opt: {
  bool(flag: BootAuthFlag): boolean;
  str(flag: BootAuthFlag): string;
}): BootAuthConfig {
  return Object.freeze({
    enabled: opt.bool('auth'),
    rootPasswordFile: opt.str('root-password-file'),
    appUserDir: opt.str('app-user-dir'),
    appPasswordFile: opt.str('app-password-file'),
  });
}

export function validateDiscoveryAuth(opt: {
  bool(flag: DiscoveryAuthFlag): boolean;
  str(flag: DiscoveryAuthFlag): string;
}): DiscoveryAuthConfig {
  return Object.freeze({
    enabled: opt.bool('auth'),
    rootSecret: opt.str('root-secret'),
    appSecret: opt.str('app-secret'),
  });
}

/** The one-line error for a root password file that is missing or empty (boot and snapshot alike). */
export function missingRootPassword(file: string): DeisError {
  return new DeisError(
    'environment',
    `${file} is missing or empty: mount the Secret ${DEFAULT_ROOT_SECRET} (key password) there`,
  );
}
