/**
 * Alarms, the pure part: what ACTIVATE and DEACTIVATE change and answer,
 * which writes NOSPACE refuses, and a member's state applying alarm entries
 * from the log: under NOSPACE a put is refused where it is applied (so every
 * member refuses it alike), the alarm survives a snapshot, and once
 * deactivated writes apply again. Also the gateway JSON of Maintenance.Alarm.
 */
import { describe, expect, it } from "vitest";
import type { Entry } from "../../src/raft/index.ts";
import { encodeAlarm, ReplicaState, type EntryResult } from "../../src/server/state.ts";
import { addsData, alarmStatusText, changeAlarms, type AlarmRequest } from "../../src/v3/alarms.ts";
import { encodeV3Entry } from "../../src/v3/command.ts";
import { decodeAlarmRequest, encodeAlarmResponse } from "../../src/v3/gateway-alarm.ts";
import { MemoryBackend } from "../../src/v3/memory-backend.ts";
import { putRequest } from "../../src/v3/requests.ts";
import type { RequestOp, V3Command } from "../../src/v3/types.ts";
import { V3Error } from "../../src/v3/errors.ts";

const put = (key: string): V3Command => ({ op: "put", req: putRequest(key, "v") });
const txn = (success: RequestOp[], failure: RequestOp[] = []): V3Command => ({ op: "txn", req: { compare: [], success, failure } });
const noSpace = (action: AlarmRequest["action"], memberId = "a1"): AlarmRequest => ({ action, memberId, alarm: "NOSPACE" });

describe("changeAlarms", () => {
  it("answers as etcd does: the activated alarm even when already raised, the deactivated one only when it was", () => {
    let step = changeAlarms([], noSpace("ACTIVATE"));
    expect(step).toEqual({ alarms: [{ memberId: "a1", alarm: "NOSPACE" }], changed: [{ memberId: "a1", alarm: "NOSPACE" }] });
    step = changeAlarms(step.alarms, noSpace("ACTIVATE"));
    expect(step.alarms).toHaveLength(1);
    expect(step.changed).toEqual([{ memberId: "a1", alarm: "NOSPACE" }]);
    const off = changeAlarms(step.alarms, noSpace("DEACTIVATE"));
    expect(off).toEqual({ alarms: [], changed: [{ memberId: "a1", alarm: "NOSPACE" }] });
    expect(changeAlarms([], noSpace("DEACTIVATE")).changed).toEqual([]);
  });

  it("keeps alarms of other members and types apart, in a fixed order", () => {
    let alarms = changeAlarms([], { action: "ACTIVATE", memberId: "ff", alarm: "CORRUPT" }).alarms;
    alarms = changeAlarms(alarms, noSpace("ACTIVATE", "10")).alarms;
    alarms = changeAlarms(alarms, noSpace("ACTIVATE", "5")).alarms;
    expect(alarms.map((a) => `${a.memberId}:${a.alarm}`)).toEqual(["5:NOSPACE", "10:NOSPACE", "ff:CORRUPT"]);
    expect(alarmStatusText(alarms[0])).toBe("memberID:5 alarm:NOSPACE ");
    expect(alarmStatusText({ memberId: "bdae9bbc11dd390d", alarm: "NOSPACE" })).toBe("memberID:13668033151171901709 alarm:NOSPACE ");
  });
});

describe("addsData: what NOSPACE refuses", () => {
  it("puts, lease grants and transactions with a put in either branch, nested ones too", () => {
    expect(addsData(put("k"))).toBe(true);
    expect(addsData({ op: "leaseGrant", req: { id: 1, ttl: 10 } })).toBe(true);
    expect(addsData(txn([], [{ put: putRequest("k", "v") }]))).toBe(true);
    expect(addsData(txn([{ txn: { compare: [], success: [{ put: putRequest("k", "v") }], failure: [] } }]))).toBe(true);
  });

  it("not deletes, compactions, revokes, or transactions that only read and delete", () => {
    expect(addsData({ op: "deleteRange", req: { key: "k", rangeEnd: "", prevKv: false } })).toBe(false);
    expect(addsData({ op: "compact", req: { revision: 1, physical: false } })).toBe(false);
    expect(addsData({ op: "leaseRevoke", req: { id: 1 } })).toBe(false);
    expect(addsData(txn([{ deleteRange: { key: "k", rangeEnd: "", prevKv: false } }], [{ empty: true }]))).toBe(false);
  });
});

describe("a member's state under NOSPACE", () => {
  function member(index = 0) {
    const state = new ReplicaState("alarms", new MemoryBackend());
    const apply = (data: string): EntryResult => state.apply({ index: ++index, term: 1, type: "normal", data } as Entry);
    return { state, apply, v3: (cmd: V3Command) => apply(encodeV3Entry(cmd)) };
  }

  it("refuses puts where they are applied, lets deletes through, keeps the alarm in snapshots, and applies again once it is cleared", () => {
    const { state, apply, v3 } = member();
    expect(v3(put("a"))).toMatchObject({ kind: "v3", result: { ok: true } });
    expect(apply(encodeAlarm(noSpace("ACTIVATE")))).toEqual({ kind: "alarm", changed: [{ memberId: "a1", alarm: "NOSPACE" }] });
    const revision = state.keyspace.revision();
    const refused = { kind: "v3", result: { ok: false, error: { code: 8, message: "etcdserver: mvcc: database space exceeded" } } };
    expect(v3(put("b"))).toEqual(refused);
    expect(v3({ op: "leaseGrant", req: { id: 7, ttl: 10 } })).toEqual(refused);
    expect(state.keyspace.revision()).toBe(revision);
    expect(v3({ op: "deleteRange", req: { key: "a", rangeEnd: "", prevKv: false } })).toMatchObject({ result: { ok: true } });

    // Another member restored from this one's snapshot refuses alike.
    const other = member(10);
    other.state.restore(state.encode(), 10);
    expect(other.state.alarms).toEqual([{ memberId: "a1", alarm: "NOSPACE" }]);
    expect(other.v3(put("c"))).toEqual(refused);

    expect(apply(encodeAlarm(noSpace("DEACTIVATE")))).toEqual({ kind: "alarm", changed: [{ memberId: "a1", alarm: "NOSPACE" }] });
    expect(v3(put("b"))).toMatchObject({ result: { ok: true } });
  });
});

describe("Maintenance.Alarm's gateway JSON", () => {
  it("decodes actions and types by name or number, and member ids past 2^53 exactly", () => {
    expect(decodeAlarmRequest("{}")).toEqual({ action: "GET", memberId: "0", alarm: "NONE" });
    expect(decodeAlarmRequest('{"action":"DEACTIVATE","memberID":"13668033151171901709","alarm":"NOSPACE"}')).toEqual({
      action: "DEACTIVATE",
      memberId: "bdae9bbc11dd390d",
      alarm: "NOSPACE",
    });
    expect(decodeAlarmRequest('{"action":1,"memberID":5,"alarm":2}')).toEqual({ action: "ACTIVATE", memberId: "5", alarm: "CORRUPT" });
  });

  it("refuses what etcd refuses with its texts, and an unnamed action (etcd crashes on it)", () => {
    const message = (body: string) => {
      try {
        decodeAlarmRequest(body);
      } catch (err) {
        return (err as V3Error).message;
      }
    };
    expect(message('{"action":"BOGUS"}')).toBe('unknown value "BOGUS" for enum etcdserverpb.AlarmRequest_AlarmAction');
    expect(message('{"memberID":true}')).toBe("json: cannot unmarshal bool into Go value of type uint64");
    expect(message('{"action":7}')).toBe("etcdserver: unknown alarm action");
  });

  it("answers {} with nothing to list, else the alarms with decimal member ids, no header", () => {
    expect(encodeAlarmResponse({ revision: 3, alarms: [] })).toBe("{}");
    expect(encodeAlarmResponse({ revision: 3, alarms: [{ memberId: "bdae9bbc11dd390d", alarm: "NOSPACE" }, { memberId: "5", alarm: "NONE" }] })).toBe(
      '{"alarms":[{"memberID":"13668033151171901709","alarm":"NOSPACE"},{"memberID":"5"}]}',
    );
  });
});
