// Error translation for the etcd adapter: by etcd3's error class (one per gRPC status code) first,
// then, within a class, by etcd's exact sentinel description. The only place that reads an etcd
// library error's message.
import * as etcd3 from 'etcd3';
import { DeisError, type EtcdReason } from '../errors.ts';

/**
 * etcd's own error descriptions (api/v3rpc/rpctypes/error.go), which etcd's Go client also maps back
 * to sentinel errors by exact text (rpctypes.Error). Consulted only within the gRPC status class that
 * etcd sends each one with: the class decides retryability, the description the finer reason.
 */
const etcdSentinels: readonly {
  cls: new (...a: never[]) => Error;
  desc: string;
  reason: EtcdReason;
  retryable: boolean;
}[] = [
  { cls: etcd3.GRPCNotFoundError, desc: 'etcdserver: member not found', reason: 'member-not-found', retryable: false },
  {
    cls: etcd3.GRPCFailedPreconditionError,
    desc: 'etcdserver: Peer URLs already exists',
    reason: 'peer-url-exists',
    retryable: false,
  },
  {
    cls: etcd3.GRPCFailedPreconditionError,
    desc: 'etcdserver: re-configuration failed due to not enough started members',
    reason: 'unhealthy-cluster',
    retryable: true,
  },
  {
    cls: etcd3.GRPCFailedPreconditionError,
    desc: 'etcdserver: can only promote a learner member which is in sync with leader',
    reason: 'learner-not-ready',
    retryable: true,
  },
  {
    cls: etcd3.GRPCFailedPreconditionError,
    desc: 'etcdserver: can only promote a learner member',
    reason: 'not-a-learner',
    retryable: false,
  },
  {
    cls: etcd3.GRPCFailedPreconditionError,
    desc: 'etcdserver: too many learner members in cluster',
    reason: 'too-many-learners',
    retryable: true,
  },
  {
    cls: etcd3.GRPCUnavailableError,
    desc: 'etcdserver: unhealthy cluster',
    reason: 'unhealthy-cluster',
    retryable: true,
  },
  { cls: etcd3.GRPCUnavailableError, desc: 'etcdserver: no leader', reason: 'no-leader', retryable: true },
  {
    cls: etcd3.GRPCFailedPreconditionError,
    desc: 'etcdserver: authentication is not enabled',
    reason: 'auth-not-enabled',
    retryable: false,
  },
  {
    cls: etcd3.GRPCInvalidArgumentError,
    desc: 'etcdserver: user name is empty',
    reason: 'auth-required',
    retryable: false,
  },
  {
    // the token was issued before a change to users or roles: etcd's Go client authenticates again
    // and retries; etcd3 does not (microsoft/etcd3#198), so connectEtcd does
    cls: etcd3.GRPCInvalidArgumentError,
    desc: 'etcdserver: revision of auth store is old',
    reason: 'auth-old-revision',
    retryable: true,
  },
  {
    cls: etcd3.GRPCFailedPreconditionError,
    desc: 'etcdserver: rpc not supported for learner',
    reason: 'learner-rpc',
    retryable: false,
  },
  {
    cls: etcd3.GRPCOutOfRangeError,
    desc: 'etcdserver: mvcc: required revision has been compacted',
    reason: 'compacted',
    retryable: false,
  },
  {
    cls: etcd3.GRPCResourceExhastedError,
    desc: 'etcdserver: mvcc: database space exceeded',
    reason: 'no-space',
    retryable: true,
  },
];

/** The gRPC status classes that mean "not answered now, ask again" (also our own call timeout). */
const unreachableClasses = [
  etcd3.GRPCUnavailableError,
  etcd3.GRPCDeadlineExceededError,
  etcd3.GRPCCancelledError,
  etcd3.ClientClosedError,
];

/** grpc-js prefixes a status's description with "<code> <NAME>: "; etcd3 may prefix its class name. */
const description = (msg: string) => msg.replace(/^\d+ [A-Z_]+: /, '').trim();

/**
 * Turns an etcd3 library error into a DeisError, by error class (etcd3 casts each gRPC status code
 * to one) and, within a class, by etcd's exact sentinel description. The only place that reads a
 * library error's message.
 */
export function translate(err: unknown, what: string): DeisError {
  if (err instanceof DeisError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof etcd3.EtcdLockFailedError) {
    return new DeisError('conflict', `${what}: ${msg}`, { cause: err, reason: 'lock-failed', retryable: true });
  }
  if (err instanceof etcd3.EtcdAuthenticationFailedError) {
    return new DeisError('forbidden', `${what}: etcd refused the user's password: check the root password Secret`, {
      cause: err,
      reason: 'auth-failed',
    });
  }
  // with client certificates, a call without a token runs as the certificate's common name: etcd's
  // admin calls then answer "user name not found" where a plain connection hears "user name is empty"
  if (err instanceof etcd3.EtcdUserNotFoundError) {
    return new DeisError('forbidden', `${what}: ${msg}`, { cause: err, reason: 'auth-required' });
  }
  if (err instanceof etcd3.EtcdPermissionDeniedError) {
    return new DeisError('forbidden', `${what}: ${msg}`, { cause: err, reason: 'permission-denied' });
  }
  if (err instanceof Error) {
    const desc = description(msg);
    const s = etcdSentinels.find((x) => err instanceof x.cls && desc === x.desc);
    if (s) {
      const code =
        s.reason === 'no-leader' || s.reason === 'auth-old-revision'
          ? 'unreachable'
          : s.reason === 'no-space' || s.reason === 'compacted'
            ? 'internal'
            : 'membership';
      return new DeisError(code, `${what}: ${msg}`, { cause: err, reason: s.reason, retryable: s.retryable });
    }
    if (unreachableClasses.some((c) => err instanceof c) || etcd3.isRecoverableError(err)) {
      return new DeisError('unreachable', `${what}: ${msg}`, { cause: err, retryable: true });
    }
  }
  return new DeisError('internal', `${what}: ${msg}`, { cause: err });
}
