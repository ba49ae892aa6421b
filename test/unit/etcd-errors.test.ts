// Error translation in the etcd adapter: by etcd3's error class (one per gRPC status code) first,
// then by etcd's exact sentinel description within that class. Rows use the classes and texts etcd
// 3.6 sends (api/v3rpc/rpctypes/error.go).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as etcd3 from 'etcd3';
import { translate } from '../../internal/etcd/client.ts';
import { DeisError } from '../../internal/errors.ts';

const rows: { name: string; err: unknown; want: { code: string; reason: string | undefined; retryable: boolean } }[] = [
  {
    name: 'member not found',
    err: new etcd3.GRPCNotFoundError('5 NOT_FOUND: etcdserver: member not found'),
    want: { code: 'membership', reason: 'member-not-found', retryable: false },
  },
  {
    name: 'peer URL exists',
    err: new etcd3.GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: Peer URLs already exists'),
    want: { code: 'membership', reason: 'peer-url-exists', retryable: false },
  },
  {
    name: 'not enough started members',
    err: new etcd3.GRPCFailedPreconditionError(
      '9 FAILED_PRECONDITION: etcdserver: re-configuration failed due to not enough started members',
    ),
    want: { code: 'membership', reason: 'unhealthy-cluster', retryable: true },
  },
  {
    name: 'learner not in sync',
    err: new etcd3.GRPCFailedPreconditionError(
      '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member which is in sync with leader',
    ),
    want: { code: 'membership', reason: 'learner-not-ready', retryable: true },
  },
  {
    name: 'promote of a voter',
    err: new etcd3.GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: can only promote a learner member'),
    want: { code: 'membership', reason: 'not-a-learner', retryable: false },
  },
  {
    name: 'too many learners',
    err: new etcd3.GRPCFailedPreconditionError(
      '9 FAILED_PRECONDITION: etcdserver: too many learner members in cluster',
    ),
    want: { code: 'membership', reason: 'too-many-learners', retryable: true },
  },
  {
    name: 'unhealthy cluster (strict reconfig)',
    err: new etcd3.GRPCUnavailableError('14 UNAVAILABLE: etcdserver: unhealthy cluster'),
    want: { code: 'membership', reason: 'unhealthy-cluster', retryable: true },
  },
  {
    name: 'auth store revision old',
    err: new etcd3.GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: revision of auth store is old'),
    want: { code: 'unreachable', reason: 'auth-old-revision', retryable: true },
  },
  {
    name: 'no leader',
    err: new etcd3.GRPCUnavailableError('14 UNAVAILABLE: etcdserver: no leader'),
    want: { code: 'unreachable', reason: 'no-leader', retryable: true },
  },
  {
    name: 'a learner refuses the call',
    err: new etcd3.GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: rpc not supported for learner'),
    want: { code: 'membership', reason: 'learner-rpc', retryable: false },
  },
  {
    name: 'connection refused is the class, not the text',
    err: new etcd3.GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED'),
    want: { code: 'unreachable', reason: undefined, retryable: true },
  },
  {
    name: 'deadline',
    err: new etcd3.GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: whatever'),
    want: { code: 'unreachable', reason: undefined, retryable: true },
  },
  {
    name: 'a closed client',
    err: new etcd3.ClientClosedError('Etcd3'),
    want: { code: 'unreachable', reason: undefined, retryable: true },
  },
  {
    name: 'a lock held elsewhere',
    err: new etcd3.EtcdLockFailedError('lock failed'),
    want: { code: 'conflict', reason: 'lock-failed', retryable: true },
  },
  {
    name: 'sentinel text under the wrong class is not trusted',
    err: new etcd3.GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: member not found'),
    want: { code: 'internal', reason: undefined, retryable: false },
  },
  {
    name: 'authentication not enabled (a client with a user before the leader enabled it)',
    err: new etcd3.GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: authentication is not enabled'),
    want: { code: 'membership', reason: 'auth-not-enabled', retryable: false },
  },
  {
    name: 'no user on a plain connection once authentication is on',
    err: new etcd3.GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: user name is empty'),
    want: { code: 'membership', reason: 'auth-required', retryable: false },
  },
  {
    name: "a client certificate's common name that is no user (admin calls)",
    err: new etcd3.EtcdUserNotFoundError('9 FAILED_PRECONDITION: etcdserver: user name not found'),
    want: { code: 'forbidden', reason: 'auth-required', retryable: false },
  },
  {
    name: 'permission denied',
    err: new etcd3.EtcdPermissionDeniedError('7 PERMISSION_DENIED: etcdserver: permission denied'),
    want: { code: 'forbidden', reason: 'permission-denied', retryable: false },
  },
  {
    name: 'a wrong password',
    err: new etcd3.EtcdAuthenticationFailedError(
      '3 INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password',
    ),
    want: { code: 'forbidden', reason: 'auth-failed', retryable: false },
  },
  {
    name: 'a connect-like message in a plain Error is not unreachable',
    err: new Error('could not connect: closed'),
    want: { code: 'internal', reason: undefined, retryable: false },
  },
];

for (const row of rows) {
  test(row.name, () => {
    const e = translate(row.err, 'op');
    assert.instance(e, DeisError);
    assert.equal({ code: e.code, reason: e.reason, retryable: e.retryable }, row.want);
    assert.is(e.cause, row.err);
  });
}

test('a DeisError passes through unchanged', () => {
  const e = new DeisError('unreachable', 'x', { retryable: true });
  assert.is(translate(e, 'op'), e);
});

test.run();
