/**
 * The gateway JSON of Maintenance.Alarm: `{"action","memberID","alarm"}` in,
 * `{"alarms":[{"memberID","alarm"}]}` out. etcd fills no header in this
 * answer, so none is written; with no alarm to list the answer is `{}`.
 */
import { goJSON } from "../go/json.ts";
import { ALARM_ACTIONS, ALARM_TYPES, type AlarmAction, type AlarmMember, type AlarmRequest, type AlarmResponse, type AlarmType } from "./alarms.ts";
import { GrpcCode, V3Error } from "./errors.ts";
import { enumValue, omitZero, readMessage, uint64Hex } from "./gateway-json.ts";

export function decodeAlarmRequest(body: string): AlarmRequest {
  const f = readMessage(body);
  const action = enumValue<AlarmAction | "UNNAMED">(f("action"), ALARM_ACTIONS, "etcdserverpb.AlarmRequest_AlarmAction", "UNNAMED");
  // etcd 3.4 crashes on an action with no name; refuse it instead.
  if (action === "UNNAMED") throw new V3Error(GrpcCode.InvalidArgument, "etcdserver: unknown alarm action");
  const memberId = uint64Hex(f("memberID"));
  const alarm = enumValue<AlarmType | "UNNAMED">(f("alarm"), ALARM_TYPES, "etcdserverpb.AlarmType", "UNNAMED");
  if (alarm === "UNNAMED") throw new V3Error(GrpcCode.InvalidArgument, "etcdserver: unknown alarm type");
  return { action, memberId, alarm };
}

export function encodeAlarmResponse(r: AlarmResponse): string {
  return goJSON(omitZero({ alarms: r.alarms.map(alarmMember) }));
}

function alarmMember(a: AlarmMember) {
  return omitZero({ memberID: BigInt(`0x${a.memberId}`).toString(), alarm: a.alarm === "NONE" ? undefined : a.alarm });
}
