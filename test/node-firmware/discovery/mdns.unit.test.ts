import { describe, expect, it } from "vitest";
import { interfaceFor, peerFrom } from "../../../node-firmware/discovery/mdns.js";

const loopback = ["lo"];
const txt = { id: "n1", spiffe: "spiffe://x0tta6bl4.mesh/node/n1", fw: "0.1.0", att: "1" };

describe("mDNS announcements", () => {
  it("reads a peer from its TXT record and the link it answered on", () => {
    expect(interfaceFor("127.0.0.9", loopback)).toBe("lo");
    expect(
      peerFrom({ txt, referer: { address: "127.0.0.9", family: "IPv4", port: 5353, size: 100 } }, loopback),
    ).toEqual({
      ok: true,
      peer: {
        nodeId: "n1",
        spiffeId: "spiffe://x0tta6bl4.mesh/node/n1",
        firmware: "0.1.0",
        attested: true,
        address: "127.0.0.9",
        interface: "lo",
      },
    });
  });

  it("reads a batman-adv node's interface MACs, which name it in its peers' tables", () => {
    const referer = { address: "127.0.0.9", family: "IPv4" as const, port: 5353, size: 100 };
    const macs = ["02:5e:00:00:00:01", "02:5e:00:00:01:01"];
    expect(peerFrom({ txt: { ...txt, macs: macs.join(",") }, referer }, loopback)).toMatchObject({
      ok: true,
      peer: { nodeId: "n1", macs },
    });
    expect(peerFrom({ txt: { ...txt, macs: "02:5e:00:00:00:01,not-a-mac" }, referer }, loopback)).toMatchObject({
      ok: false,
    });
  });

  it("does not trust what does not parse, or what comes from off our links", () => {
    const from = (t: unknown, address = "127.0.0.9") =>
      peerFrom({ txt: t, referer: { address, family: "IPv4", port: 5353, size: 1 } }, loopback);
    const reason = (result: ReturnType<typeof from>) => (result.ok ? "accepted" : result.reason);
    expect(reason(from({ ...txt, id: "N 1" }))).toMatch(/^id /);
    expect(reason(from({ ...txt, spiffe: "https://evil" }))).toMatch(/^spiffe /);
    expect(from({ ...txt, att: "yes" })).toMatchObject({ ok: false });
    expect(from({ ...txt, extra: "x" })).toMatchObject({ ok: true }); // a newer node's TXT key is read past
    expect(from(undefined)).toMatchObject({ ok: false });
    expect(from(txt, "192.0.2.1")).toEqual({ ok: false, reason: "192.0.2.1 is on none of our mesh links" });
  });
});
