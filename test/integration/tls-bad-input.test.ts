// Bad TLS input to boot and discovery (--tls, no Kubernetes): a missing, expired, mismatched or
// unreadable CA certificate or key, a leaf where the CA belongs, an unwritable --tls-dir. Each ends in
// one error line naming the file and the fix, exit code 3 (environment), before any etcd data exists.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueLeaf, type KeyPair } from '../../internal/tls/x509.ts';
import { programEnv, runToExit } from '../world/programs.ts';
import { tempDir } from '../world/procs.ts';
import { etcdTool } from '../world/tools.ts';

const DAY = 86_400_000;
const logDir = tempDir();

/** A CA directory holding the given files (undefined: left out; 'dir': a directory in its place). */
function caDir(files: { cert?: string | 'dir'; key?: string | 'dir' }): string {
  const d = tempDir();
  for (const [name, v] of [
    ['tls.crt', files.cert],
    ['tls.key', files.key],
  ] as const) {
    if (v === 'dir') mkdirSync(join(d, name));
    else if (v !== undefined) writeFileSync(join(d, name), v);
  }
  return d;
}

interface Row {
  name: string;
  ca: (g: { ca: KeyPair; other: KeyPair; old: KeyPair; leaf: KeyPair }) => string;
  tlsDir?: () => string;
  want: RegExp;
}
const rows: Row[] = [
  {
    name: 'no CA certificate',
    ca: ({ ca }) => caDir({ key: ca.key }),
    want: /\/tls\.crt is missing or empty: mount it/,
  },
  { name: 'no CA key', ca: ({ ca }) => caDir({ cert: ca.cert }), want: /\/tls\.key is missing or empty: mount it/ },
  {
    name: 'an expired CA',
    ca: ({ old }) => caDir({ cert: old.cert, key: old.key }),
    want: /\/tls\.crt expired at \d{4}-\d\d-\d\dT.*: replace it/,
  },
  {
    name: 'a key that belongs to another certificate',
    ca: ({ ca, other }) => caDir({ cert: ca.cert, key: other.key }),
    want: /\/tls\.key does not belong to .*\/tls\.crt: mount the key made with that certificate/,
  },
  {
    name: 'an unreadable key file',
    ca: ({ ca }) => caDir({ cert: ca.cert, key: 'dir' }),
    want: /cannot read .*\/tls\.key \(EISDIR\): check the volume mount and its permissions/,
  },
  {
    name: 'a certificate that is no PEM',
    ca: ({ ca }) => caDir({ cert: 'not a certificate', key: ca.key }),
    want: /\/tls\.crt is not a PEM certificate/,
  },
  {
    name: 'a leaf certificate where the CA belongs',
    ca: ({ leaf }) => caDir({ cert: leaf.cert, key: leaf.key }),
    want: /\/tls\.crt is not a CA certificate: mount the CA/,
  },
  {
    name: '--tls-dir is a file',
    ca: ({ ca }) => caDir({ cert: ca.cert, key: ca.key }),
    tlsDir: () => {
      const f = join(tempDir(), 'a-file');
      writeFileSync(f, 'x');
      return f;
    },
    want: /--tls-dir .*a-file exists but is not a directory/,
  },
];

let pki: { ca: KeyPair; other: KeyPair; old: KeyPair; leaf: KeyPair };
test.before(async () => {
  const ca = await createCa('ca', DAY);
  pki = {
    ca,
    other: await createCa('other', DAY),
    old: await createCa('old', DAY, Date.now() - 3 * DAY),
    leaf: await issueLeaf(ca, { commonName: 'leaf', dnsNames: [], ipAddresses: [], lifetimeMs: DAY }),
  };
});

for (const program of ['boot', 'discovery'] as const) {
  for (const [i, row] of rows.entries()) {
    test(`${program}: ${row.name} -> one line naming the file, exit 3, no data`, async () => {
      const dataDir = join(tempDir(), 'data');
      const env = programEnv({
        POD_NAME: 'etcd-0',
        POD_IP: '127.0.0.1',
        DEIS_ETCD_DISCOVERY_TOKEN: 'tok',
        DEIS_ETCD_DATA_DIR: dataDir,
        DEIS_ETCD_ETCD_BINARY: etcdTool('etcd'),
        DEIS_ETCD_KUBERNETES: 'off',
        DEIS_ETCD_TLS: 'true',
        DEIS_ETCD_TLS_CA_DIR: row.ca(pki),
        DEIS_ETCD_TLS_DIR: row.tlsDir?.() ?? join(tempDir(), 'tls'),
      });
      const { code, errors, log } = await runToExit(program, `tls-bad-${program}-${i}`, [], env, logDir);
      assert.is(code, 3, log);
      assert.is(errors.length, 1, `one error line, got: ${log}`);
      assert.match(errors[0]!, row.want);
      let files: string[] = [];
      try {
        files = readdirSync(dataDir);
      } catch {
        /* not created */
      }
      assert.not.ok(files.includes('member'), 'no etcd data was written');
    });
  }
}

test.run();
