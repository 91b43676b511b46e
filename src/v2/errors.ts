/**
 * etcd v2 errors: the numeric codes, their exact messages and the HTTP status
 * etcd maps each one to. Shared by the store (which raises them) and the HTTP
 * layer (which raises the request-validation ones and writes them all).
 */

const MESSAGES: Record<number, string> = {
  100: "Key not found",
  101: "Compare failed",
  102: "Not a file",
  104: "Not a directory",
  105: "Key already exists",
  107: "Root is read only",
  108: "Directory not empty",
  110: "The request requires user authentication",
  201: "PrevValue is Required in POST form",
  202: "The given TTL in POST form is not a number",
  203: "The given index in POST form is not a number",
  209: "Invalid field",
  210: "Invalid POST form",
  211: "Value provided on refresh",
  212: "A TTL must be provided on refresh",
  300: "Raft Internal Error",
  301: "During Leader Election",
  401: "The event in requested index is outdated and cleared",
};

// etcd maps only these codes to a non-400 status; every other code is 400.
const STATUS: Record<number, number> = {
  100: 404,
  101: 412,
  102: 403,
  105: 412,
  108: 403,
  110: 401,
  300: 500,
  301: 500,
};

export const ErrorCode = {
  KeyNotFound: 100,
  TestFailed: 101,
  NotFile: 102,
  NotDir: 104,
  NodeExist: 105,
  RootReadOnly: 107,
  DirNotEmpty: 108,
  PrevValueRequired: 201,
  TTLNaN: 202,
  IndexNaN: 203,
  InvalidField: 209,
  InvalidForm: 210,
  RefreshValue: 211,
  RefreshTTLRequired: 212,
  RaftInternal: 300,
  EventIndexCleared: 401,
} as const;

/** A v2 error as plain data, so it crosses Durable Object RPC unchanged. */
export interface V2ErrorBody {
  errorCode: number;
  message: string;
  cause?: string;
  index: number;
}

/** Thrown by the store; carries the plain body. */
export class V2Error extends Error {
  readonly body: V2ErrorBody;
  constructor(code: number, cause: string, index: number) {
    super(`${code}: ${MESSAGES[code] ?? "Unknown error"} (${cause}) [${index}]`);
    this.body = v2ErrorBody(code, cause, index);
  }
}

/** Builds the body in etcd's field order; an empty cause is omitted as etcd does. */
export function v2ErrorBody(code: number, cause: string, index: number): V2ErrorBody {
  const message = MESSAGES[code] ?? "Unknown error";
  return cause === ""
    ? { errorCode: code, message, index }
    : { errorCode: code, message, cause, index };
}

/** etcd's error 300: a request Raft could not carry out, with why. */
export function raftInternalError(cause: string): V2ErrorBody {
  return v2ErrorBody(ErrorCode.RaftInternal, cause, 0);
}

/**
 * What etcd answers for a form body over Go's limit (its error 210 with
 * Go's text, at index 0); here also for a body over our request limit and
 * for a write whose log entry would not fit a storage row.
 */
export function postTooLarge(): V2ErrorBody {
  return v2ErrorBody(ErrorCode.InvalidForm, POST_TOO_LARGE, 0);
}

/** Go's net/http error for a form body over its limit. */
export const POST_TOO_LARGE = "http: POST too large";

export function v2ErrorStatus(code: number): number {
  return STATUS[code] ?? 400;
}
