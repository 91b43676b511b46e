/** Where members are placed: founders round robin over MEMBER_LOCATIONS, others by id; the variables read strictly. */
import { describe, expect, it } from "vitest";
import { ConfigError, config } from "../../src/env.ts";
import { memberLocation } from "../../src/placement.ts";
import { memberId } from "../../src/server/identity.ts";
import { foundingMembers } from "../../src/server/members.ts";

describe("member placement", () => {
  const founders = foundingMembers("app", 5).map((m) => m.id);

  it("puts founding member k at the k-th location, round robin, so three regions each hold one of three members", () => {
    const three = ["enam", "weur", "apac"] as const;
    expect(founders.slice(0, 3).map((id) => memberLocation(three, "app", id, 3))).toEqual(["enam", "weur", "apac"]);
    expect(founders.map((id) => memberLocation(three, "app", id, 5))).toEqual(["enam", "weur", "apac", "enam", "weur"]);
  });

  it("places a member added later by its id, the same way every time, and nothing without locations", () => {
    const added = memberId("app", "member-7");
    const where = memberLocation(["enam", "weur"], "app", added, 3);
    expect(["enam", "weur"]).toContain(where);
    expect(memberLocation(["enam", "weur"], "app", added, 3)).toBe(where);
    expect(memberLocation([], "app", founders[0], 3)).toBeUndefined();
  });

  it("reads MEMBER_LOCATIONS, JURISDICTION and PEER_DELAY_MS strictly", () => {
    expect(config({ MEMBER_LOCATIONS: "enam, weur,apac", JURISDICTION: "eu", PEER_DELAY_MS: "40" })).toMatchObject({
      placement: { locations: ["enam", "weur", "apac"], jurisdiction: "eu" },
      peerDelayMs: 40,
    });
    expect(config({}).placement).toEqual({ locations: [], jurisdiction: null });
    expect(() => config({ MEMBER_LOCATIONS: "enam,mars" })).toThrow(ConfigError);
    expect(() => config({ MEMBER_LOCATIONS: "enam,mars" })).toThrow(/MEMBER_LOCATIONS must be a comma-separated list of wnam, enam/);
    expect(() => config({ JURISDICTION: "eu,us" })).toThrow(/JURISDICTION must be one of eu, fedramp/);
    expect(() => config({ PEER_DELAY_MS: "-5" })).toThrow(/PEER_DELAY_MS/);
  });
});
