/**
 * etcd 3.4's v3 auth errors: the gRPC code and exact text of each, as its
 * server converts the auth store's errors (rpctypes). Some are not
 * converted by etcd and reach the client as Unknown with the auth
 * package's own "auth: ..." text; those are kept as etcd sends them.
 */
import { GrpcCode, V3Error } from "./errors.ts";

const error = (code: number, message: string) => () => new V3Error(code, message);
const precondition = (message: string) => error(GrpcCode.FailedPrecondition, message);
const argument = (message: string) => error(GrpcCode.InvalidArgument, message);

export const errUserEmpty = argument("etcdserver: user name is empty");
export const errRoleEmpty = argument("etcdserver: role name is empty");
export const errAuthFailed = argument("etcdserver: authentication failed, invalid user ID or password");
export const errAuthOldRevision = argument("etcdserver: revision of auth store is old");
export const errInvalidAuthMgmt = argument("etcdserver: invalid auth management");
export const errUserAlreadyExists = precondition("etcdserver: user name already exists");
export const errUserNotFound = precondition("etcdserver: user name not found");
export const errRoleAlreadyExists = precondition("etcdserver: role name already exists");
export const errRoleNotFound = precondition("etcdserver: role name not found");
export const errRoleNotGranted = precondition("etcdserver: role is not granted to the user");
export const errPermissionNotGranted = precondition("etcdserver: permission is not granted to the role");
export const errRootUserNotExist = precondition("etcdserver: root user does not exist");
export const errRootRoleNotExist = precondition("etcdserver: root user does not have root role");
export const errAuthNotEnabled = precondition("etcdserver: authentication is not enabled");
export const errPermissionDenied = error(GrpcCode.PermissionDenied, "etcdserver: permission denied");
export const errInvalidAuthToken = error(GrpcCode.Unauthenticated, "etcdserver: invalid auth token");
/** The maintenance service's refusal, which etcd 3.4 passes on unconverted. */
export const errMaintenanceDenied = error(GrpcCode.Unknown, "auth: permission denied");
/** Authenticate for a user created with no_password, also unconverted. */
export const errNoPasswordUser = error(GrpcCode.Unknown, "auth: authentication failed, password was given for no password user");
