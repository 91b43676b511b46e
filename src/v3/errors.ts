/**
 * etcd's v3 errors: a gRPC status code and etcd's exact message (clients
 * match on the text), as etcdserver/api/v3rpc/rpctypes defines them.
 */

/** The gRPC status codes etcd's v3 API answers with. */
export const GrpcCode = {
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  OutOfRange: 11,
  Internal: 13,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;

/** A v3 error as plain data, so it crosses RPC and the Raft log unchanged. */
export interface V3ErrorBody {
  code: number;
  message: string;
}

export class V3Error extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  get body(): V3ErrorBody {
    return { code: this.code, message: this.message };
  }
}

const error = (code: number, message: string) => () => new V3Error(code, message);

export const errEmptyKey = error(GrpcCode.InvalidArgument, "etcdserver: key is not provided");
export const errKeyNotFound = error(GrpcCode.InvalidArgument, "etcdserver: key not found");
export const errValueProvided = error(GrpcCode.InvalidArgument, "etcdserver: value is provided");
export const errLeaseProvided = error(GrpcCode.InvalidArgument, "etcdserver: lease is provided");
export const errTooManyOps = error(GrpcCode.InvalidArgument, "etcdserver: too many operations in txn request");
export const errDuplicateKey = error(GrpcCode.InvalidArgument, "etcdserver: duplicate key given in txn request");
export const errRequestTooLarge = error(GrpcCode.InvalidArgument, "etcdserver: request is too large");
export const errCompacted = error(GrpcCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted");
export const errFutureRev = error(GrpcCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision");
export const errLeaseNotFound = error(GrpcCode.NotFound, "etcdserver: requested lease not found");
export const errLeaseExists = error(GrpcCode.FailedPrecondition, "etcdserver: lease already exists");
export const errLeaseTTLTooLarge = error(GrpcCode.OutOfRange, "etcdserver: too large lease TTL");
export const errNoSpace = error(GrpcCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded");
export const errTooManyRequests = error(GrpcCode.ResourceExhausted, "etcdserver: too many requests");
