import { describe, expect, it } from "vitest";
import { NodeDirectory } from "../../../../node-firmware/mesh/batman-adv/node-directory.js";

describe("NodeDirectory", () => {
  it("names originators by node id, case aside, from configuration and from announcements", () => {
    const directory = new NodeDirectory({ "02:5E:00:00:00:01": "n1" });
    directory.heard("02:5e:00:00:00:02", "n2");
    expect([directory.nodeIdOf("02:5e:00:00:00:01"), directory.nodeIdOf("02:5E:00:00:00:02")]).toEqual(["n1", "n2"]);
    expect(directory.macOf("n2")).toBe("02:5e:00:00:00:02");
    expect(directory.nodeIdOf("02:5e:00:00:00:03")).toBeUndefined();
  });

  it("keeps a configured entry when an announcement (mDNS is unauthenticated) claims its address", () => {
    const directory = new NodeDirectory({ "02:5e:00:00:00:01": "n1" });
    directory.heard("02:5e:00:00:00:01", "intruder");
    expect(directory.nodeIdOf("02:5e:00:00:00:01")).toBe("n1");
  });
});
