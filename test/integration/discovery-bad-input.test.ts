// Bad input to the discovery program: each case exits non-zero with one clear error line naming the
// fix, and starts no etcd.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { programEnv, runToExit } from '../world/programs.ts';
import { tempDir } from '../world/procs.ts';
import { etcdTool } from '../world/tools.ts';

const dir = tempDir();
const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'x');
const emptyToken = join(dir, 'empty-token');
writeFileSync(emptyToken, '  \n');

const base = {
  POD_IP: '127.0.0.1',
  DEIS_ETCD_DISCOVERY_TOKEN: 'abc123',
  DEIS_ETCD_DATA_DIR: join(dir, 'data'),
  DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
};

interface Row {
  name: string;
  env: Record<string, string | undefined>;
  args?: string[];
  code: number;
  want: RegExp;
  warn?: RegExp;
}
const rows: Row[] = [
  {
    name: 'missing token file and no Kubernetes API',
    env: { DEIS_ETCD_DISCOVERY_TOKEN: undefined, DEIS_ETCD_TOKEN_FILE: join(dir, 'nope') },
    code: 3,
    want: /no discovery token: .*nope does not exist.*mount the Secret/,
  },
  {
    name: 'empty token file',
    env: { DEIS_ETCD_DISCOVERY_TOKEN: undefined, DEIS_ETCD_TOKEN_FILE: emptyToken },
    code: 2,
    want: /token from .*empty-token is empty/,
  },
  { name: 'token with a slash', env: { DEIS_ETCD_DISCOVERY_TOKEN: 'a/b' }, code: 2, want: /may hold only letters/ },
  {
    name: 'size 0',
    env: { DEIS_ETCD_CLUSTER_SIZE: '0' },
    code: 2,
    want: /DEIS_ETCD_CLUSTER_SIZE must be an integer from 1 to 9, not '0'/,
  },
  {
    name: 'size abc',
    env: {},
    args: ['--cluster-size', 'abc'],
    code: 2,
    want: /--cluster-size must be an integer from 1 to 9, not 'abc'/,
  },
  {
    name: 'size 4 without --allow-even-size',
    env: { DEIS_ETCD_CLUSTER_SIZE: '4' },
    code: 2,
    want: /is even.*--allow-even-size/,
  },
  { name: 'unknown flag', env: {}, args: ['--clustr-size', '3'], code: 2, want: /Unknown argument: clustr-size/ },
  {
    name: 'data dir under a regular file',
    env: { DEIS_ETCD_DATA_DIR: join(aFile, 'data') },
    code: 3,
    want: /--data-dir .* is not writable \(ENOTDIR\)/,
  },
  { name: 'data dir is a file', env: { DEIS_ETCD_DATA_DIR: aFile }, code: 3, want: /exists but is not a directory/ },
  {
    name: 'etcd binary missing',
    env: { DEIS_ETCD_ETCD_BINARY: join(dir, 'no-etcd') },
    code: 3,
    want: /etcd binary .*no-etcd is missing.*--etcd-binary/,
  },
  {
    name: 'etcd binary missing, set by its deprecated name',
    env: { DEIS_ETCD_ETCD_BINARY: undefined, DEIS_ETCD_BINARY: join(dir, 'no-etcd') },
    code: 3,
    want: /etcd binary .*no-etcd is missing/,
    warn: /"config warning".*"deprecated: DEIS_ETCD_BINARY, use DEIS_ETCD_ETCD_BINARY"/,
  },
];

for (const row of rows) {
  test(row.name, async () => {
    const { code, errors, log } = await runToExit(
      'discovery',
      `bad-${rows.indexOf(row)}`,
      row.args ?? [],
      programEnv({ ...base, ...row.env }),
      dir,
      20_000,
    );
    assert.is(code, row.code, log);
    assert.is(errors.length, 1, `one error line, got: ${log}`);
    assert.match(errors[0]!, row.want);
    if (row.warn) assert.match(log, row.warn);
    assert.not.match(log, /abc123/, 'the token never reaches the log');
  });
}

test.run();
