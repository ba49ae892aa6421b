// The multi-call entry's choice: by invoked name (a /bin/boot link, a boot.cjs bundle) or by the
// first argument.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { choose, commandName } from '../../cmd/deis-etcd/cli.ts';

const rows = [
  {
    name: 'link /bin/boot',
    invokedAs: ['/bin/boot', '/bin/deis-etcd'],
    args: ['--help'],
    want: { kind: 'run', program: 'boot', argv: ['--help'] },
  },
  {
    name: 'link discovery, relative',
    invokedAs: ['discovery', undefined],
    args: [],
    want: { kind: 'run', program: 'discovery', argv: [] },
  },
  {
    name: 'bundle boot.cjs under node',
    invokedAs: ['node', '/x/boot.cjs'],
    args: ['--version'],
    want: { kind: 'run', program: 'boot', argv: ['--version'] },
  },
  {
    name: 'first argument',
    invokedAs: ['/bin/deis-etcd', '/bin/deis-etcd'],
    args: ['discovery', '--cluster-size', '5'],
    want: { kind: 'run', program: 'discovery', argv: ['--cluster-size', '5'] },
  },
  {
    name: 'invoked name beats the first argument',
    invokedAs: ['/bin/boot'],
    args: ['discovery'],
    want: { kind: 'run', program: 'boot', argv: ['discovery'] },
  },
  {
    name: '--version of the multi-call itself',
    invokedAs: ['deis-etcd'],
    args: ['--version'],
    want: { kind: 'version' },
  },
  {
    name: 'the kubectl plugin: kubectl runs it with the words after `kubectl deis-etcd`',
    invokedAs: ['/usr/local/bin/kubectl-deis_etcd', '/usr/local/bin/kubectl-deis_etcd'],
    args: ['status', '-n', 'prod'],
    want: { kind: 'run', program: 'status', argv: ['-n', 'prod'] },
  },
  { name: '--help', invokedAs: ['deis-etcd'], args: ['--help'], want: { kind: 'usage', exitCode: 0 } },
  { name: 'nothing', invokedAs: ['deis-etcd'], args: [], want: { kind: 'usage', exitCode: 2 } },
  { name: 'unknown program', invokedAs: ['deis-etcd'], args: ['bootstrap'], want: { kind: 'usage', exitCode: 2 } },
];
for (const row of rows) {
  test(`choose: ${row.name}`, () => assert.equal(choose(row.invokedAs, row.args), row.want));
}

test('commandName strips directories and script extensions', () => {
  assert.is(commandName('/usr/local/bin/discovery'), 'discovery');
  assert.is(commandName('dist/boot.cjs'), 'boot');
  assert.is(commandName('C:\\bin\\boot.exe'), 'boot');
  assert.is(commandName(undefined), undefined);
});

test.run();
