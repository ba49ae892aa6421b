// Errors of deis-etcd: one base class with a stable code, retryability on the error itself, and an
// ES2022 cause. Adapters translate library errors into these; the cmd layer maps them to exit codes.

/** Stable error codes; each maps to an exit code in {@link exitCodeFor}. */
export type ErrorCode =
  | 'config' // bad flag, env var or combination: fix the invocation
  | 'environment' // the machine lacks something: identity, token, data dir, etcd binary
  | 'unreachable' // a dependency (discovery, API server, etcd) stayed unreachable after retries
  | 'forbidden' // the Kubernetes API refused us (RBAC)
  | 'conflict' // a write raced another writer (retryable)
  | 'membership' // the cluster refuses the change (quorum, full registry, size mismatch)
  | 'etcd-exited' // our etcd child exited; its own code is passed through
  | 'internal';

/** Finer, stable tags per adapter, for callers that branch on them (never on message text). */
export type EtcdReason =
  | 'member-not-found'
  | 'peer-url-exists'
  | 'learner-not-ready'
  | 'not-a-learner'
  | 'too-many-learners'
  | 'unhealthy-cluster'
  | 'no-leader'
  | 'learner-rpc'
  | 'lock-failed'
  | 'compacted'
  | 'no-space'
  | 'auth-not-enabled'
  | 'auth-required'
  | 'auth-failed'
  | 'auth-old-revision'
  | 'permission-denied';
export type KubeReason = 'forbidden' | 'conflict' | 'not-found' | 'bad-request' | 'server-error' | 'not-proxyable';
export type DiscoveryReason = 'bad-size-key';
export type BootReason = 'join-stalled' | 'publish-lost';
export type Reason = EtcdReason | KubeReason | DiscoveryReason | BootReason;

export class DeisError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** For 'etcd-exited': etcd's own exit status, passed through as ours. */
  readonly exitStatus: number | undefined;
  /** A finer, stable tag within the code, e.g. 'member-not-found', for callers that branch on it. */
  readonly reason: Reason | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; retryable?: boolean; exitStatus?: number; reason?: Reason | undefined } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DeisError';
    this.code = code;
    this.retryable = opts.retryable ?? (code === 'unreachable' || code === 'conflict');
    this.exitStatus = opts.exitStatus;
    this.reason = opts.reason;
  }
}

/** The exit-code table (documented in the README). */
export const exitCodes = {
  ok: 0,
  internal: 1,
  config: 2,
  environment: 3,
  unreachable: 4,
  forbidden: 5,
  conflict: 1,
  membership: 6,
} as const;

export function isReason(err: unknown, reason: Reason): boolean {
  return err instanceof DeisError && err.reason === reason;
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof DeisError) {
    if (err.code === 'etcd-exited') return err.exitStatus && err.exitStatus > 0 ? err.exitStatus : 1;
    return exitCodes[err.code];
  }
  return exitCodes.internal;
}

/** One line for a human: the message, then each cause's message. */
export function describe(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    if (e instanceof Error) {
      if (!parts.some((p) => p.includes(e instanceof Error ? e.message : ''))) parts.push(e.message);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(': ');
}
