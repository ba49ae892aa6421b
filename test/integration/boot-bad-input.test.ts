// Bad input to boot: each case ends in one clear error line naming the fix and a non-zero exit,
// after bounded retries where a dependency is down; no data is touched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { programEnv, runToExit, startDiscovery, type DiscoveryProcess } from '../world/programs.ts';
import { tempDir } from '../world/procs.ts';
import { etcdTool } from '../world/tools.ts';
import { freeAddress } from '../world/net.ts';

const dir = tempDir();
const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'x');
let disc: DiscoveryProcess;

test.before(async () => {
  disc = await startDiscovery({ size: 3, logDir: dir });
});
test.after(async () => {
  await disc?.proc.stop();
});

interface Row {
  name: string;
  env: () => Promise<Record<string, string | undefined>>;
  code: number;
  want: RegExp;
}
const base = async (): Promise<Record<string, string | undefined>> => ({
  POD_NAME: 'etcd-0',
  POD_IP: await freeAddress([2379, 2380, 8080]),
  DEIS_ETCD_DISCOVERY_ENDPOINT: disc.endpoint,
  DEIS_ETCD_DISCOVERY_TOKEN: disc.token,
  DEIS_ETCD_DATA_DIR: join(tempDir(), 'data'),
  DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
  DEIS_ETCD_KUBERNETES: 'off',
});

const rows: Row[] = [
  {
    name: 'no POD_NAME',
    env: async () => ({ ...(await base()), POD_NAME: undefined }),
    code: 2,
    want: /no member name: set POD_NAME/,
  },
  {
    name: 'malformed ETCD_* override',
    env: async () => ({ ...(await base()), 'ETCD_heartbeat-interval': '100' }),
    code: 2,
    want: /ETCD_heartbeat-interval is not a valid etcd setting name/,
  },
  {
    name: 'data dir is a file',
    env: async () => ({ ...(await base()), DEIS_ETCD_DATA_DIR: aFile }),
    code: 3,
    want: /--data-dir .*a-file exists but is not a directory/,
  },
  {
    name: 'a discovery endpoint that is not a URL',
    env: async () => ({ ...(await base()), DEIS_ETCD_DISCOVERY_ENDPOINT: 'disco:2381' }),
    code: 2,
    want: /DEIS_ETCD_DISCOVERY_ENDPOINT must be/,
  },
  {
    name: 'a size that disagrees with the registry',
    env: async () => ({ ...(await base()), DEIS_ETCD_CLUSTER_SIZE: '5' }),
    code: 2,
    want: /cluster size is 5 here but 3 in the discovery registry/,
  },
  {
    name: 'unreachable discovery: bounded waiting, then a clear exit',
    env: async () => ({
      ...(await base()),
      DEIS_ETCD_DISCOVERY_ENDPOINT: `http://${await freeAddress([2381])}:2381`,
      DEIS_ETCD_WAIT_TIMEOUT: '3',
    }),
    code: 4,
    want: /gave up after 3 s: neither the cluster nor the discovery service is reachable/,
  },
  {
    name: '--auto-recover with a bad value',
    env: async () => ({ ...(await base()), DEIS_ETCD_AUTO_RECOVER: 'maybe' }),
    code: 2,
    want: /DEIS_ETCD_AUTO_RECOVER must be true or false, not 'maybe'/,
  },
  {
    name: 'Kubernetes required but not configured',
    env: async () => ({ ...(await base()), DEIS_ETCD_KUBERNETES: 'on' }),
    code: 3,
    want: /DEIS_ETCD_KUBERNETES=on but there is no Kubernetes API/,
  },
];

for (const [i, row] of rows.entries()) {
  test(row.name, async () => {
    const env = await row.env();
    const { code, errors, log } = await runToExit('boot', `bad-${i}`, [], programEnv(env), dir);
    assert.is(code, row.code, log);
    assert.is(errors.length, 1, `one error line, got: ${log}`);
    assert.match(errors[0]!, row.want);
    if (env.DEIS_ETCD_DATA_DIR && env.DEIS_ETCD_DATA_DIR !== aFile) {
      let files: string[] = [];
      try {
        files = readdirSync(env.DEIS_ETCD_DATA_DIR);
      } catch {
        /* not created */
      }
      assert.not.ok(files.includes('member'), 'no etcd data was written');
    }
  });
}

test.run();
