// The version printed by --version: baked in by the bundler (__DEIS_ETCD_VERSION__), else "dev".
declare const __DEIS_ETCD_VERSION__: string | undefined;

export const VERSION: string = typeof __DEIS_ETCD_VERSION__ === 'string' ? __DEIS_ETCD_VERSION__ : 'dev';
