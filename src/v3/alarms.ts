/**
 * etcd's alarms (Maintenance.Alarm), the part that is pure: the list of
 * raised alarms, what activating or deactivating one changes, and which
 * writes NOSPACE refuses. Alarms change only through the Raft log, so every
 * member holds the same list and refuses the same writes.
 */
import type { RequestOp, V3Command } from "./types.ts";

export type AlarmType = "NONE" | "NOSPACE" | "CORRUPT";
export const ALARM_TYPES: readonly AlarmType[] = ["NONE", "NOSPACE", "CORRUPT"];

export type AlarmAction = "GET" | "ACTIVATE" | "DEACTIVATE";
export const ALARM_ACTIONS: readonly AlarmAction[] = ["GET", "ACTIVATE", "DEACTIVATE"];

/** An alarm raised by (or for) one member; `memberId` in hex, as members are named here. */
export interface AlarmMember {
  memberId: string;
  alarm: AlarmType;
}

export interface AlarmRequest {
  action: AlarmAction;
  memberId: string;
  alarm: AlarmType;
}

/** The alarms a GET lists, or those an ACTIVATE or DEACTIVATE changed; `revision` is the keyspace's (etcd leaves the header out). */
export interface AlarmResponse {
  revision: number;
  alarms: AlarmMember[];
}

/**
 * `alarms` after an ACTIVATE or DEACTIVATE, and the alarms the answer lists,
 * as etcd answers: the activated alarm (also when it was already raised), or
 * the deactivated one (none when it was not raised).
 */
export function changeAlarms(alarms: AlarmMember[], req: AlarmRequest): { alarms: AlarmMember[]; changed: AlarmMember[] } {
  const target = { memberId: req.memberId, alarm: req.alarm };
  const raised = alarms.some((a) => same(a, target));
  if (req.action === "ACTIVATE") return { alarms: raised ? alarms : sorted([...alarms, target]), changed: [target] };
  if (req.action === "DEACTIVATE") return { alarms: alarms.filter((a) => !same(a, target)), changed: raised ? [target] : [] };
  return { alarms, changed: [] };
}

/** The alarms a GET lists: all of them for NONE, else those of one type. */
export function listAlarms(alarms: AlarmMember[], type: AlarmType): AlarmMember[] {
  return type === "NONE" ? alarms : alarms.filter((a) => a.alarm === type);
}

export function hasAlarm(alarms: AlarmMember[], type: AlarmType): boolean {
  return alarms.some((a) => a.alarm === type);
}

/**
 * Whether a write adds data, so that NOSPACE refuses it: a put, a lease
 * grant, or a transaction with a put in either branch. etcd counts only the
 * puts directly in a branch, which lets a put nested in an inner
 * transaction through; here nested ones count too, since the quota is what
 * protects a member's storage.
 */
export function addsData(cmd: V3Command): boolean {
  if (cmd.op === "put" || cmd.op === "leaseGrant") return true;
  return cmd.op === "txn" && [...cmd.req.success, ...cmd.req.failure].some(opAddsData);
}

function opAddsData(op: RequestOp): boolean {
  if ("put" in op) return true;
  return "txn" in op && [...op.txn.success, ...op.txn.failure].some(opAddsData);
}

/**
 * How Maintenance.Status lists a raised alarm among its `errors`: the
 * alarm's protobuf text form, as etcd writes it (member id in decimal, a
 * NONE alarm's type left out, a trailing space).
 */
export function alarmStatusText(a: AlarmMember): string {
  return `memberID:${BigInt(`0x${a.memberId}`)} ${a.alarm === "NONE" ? "" : `alarm:${a.alarm} `}`;
}

function same(a: AlarmMember, b: AlarmMember): boolean {
  return a.memberId === b.memberId && a.alarm === b.alarm;
}

/** etcd lists alarms in the order of Go maps, which is random; here by type, then by member. */
function sorted(alarms: AlarmMember[]): AlarmMember[] {
  return alarms.sort((a, b) => ALARM_TYPES.indexOf(a.alarm) - ALARM_TYPES.indexOf(b.alarm) || compareIds(a.memberId, b.memberId));
}

function compareIds(a: string, b: string): number {
  const x = BigInt(`0x${a}`);
  const y = BigInt(`0x${b}`);
  return x < y ? -1 : x > y ? 1 : 0;
}
