import { describe, expect, it } from "vitest";
import { Reflexes } from "../../../node-firmware/monitor/reflexes.js";
import { PolicyFollower } from "../../../node-firmware/mqtt/policy.js";
import { silentLogger } from "../../../node-firmware/lib/log.js";
import type { ActionParams, MeshPolicy } from "../../../protocol/index.js";
import { actionSigner } from "../../helpers/actions.js";

const policyAt = (revision: number, settings: MeshPolicy["settings"]): MeshPolicy => ({
  revision,
  settings,
  approvedFirmware: [],
});
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function follower() {
  const applied: MeshPolicy[] = [];
  const follow = new PolicyFollower((p) => applied.push(p), silentLogger);
  return { follow, applied };
}

describe("a node following the mesh policy", () => {
  it("applies a copy signed with the action key, newer ones only", async () => {
    const signer = await actionSigner();
    const { follow, applied } = follower();
    await follow.trust([signer.key]);
    const send = async (policy: MeshPolicy) =>
      follow.receive(bytes({ revision: policy.revision, signed: await signer.signValue(policy) }));
    await send(policyAt(2, { floodPps: 1000 }));
    await send(policyAt(1, { floodPps: 9000 })); // an older retained copy replayed
    await send(policyAt(3, { floodPps: 800, cooldownSeconds: 10 }));
    expect(applied.map((p) => p.revision)).toEqual([2, 3]);
    expect(follow.stats).toEqual({ applied: 2, rejected: 0 });
  });

  it("refuses a copy signed by another key, one whose outer revision lies, and one that is not a policy", async () => {
    const signer = await actionSigner();
    const forger = await actionSigner();
    const { follow, applied } = follower();
    await follow.trust([signer.key]);
    const forged = policyAt(5, { floodPps: 1 });
    await follow.receive(bytes({ revision: 5, signed: await forger.signValue(forged) }));
    await follow.receive(bytes({ revision: 9, signed: await signer.signValue(policyAt(5, {})) }));
    await follow.receive(bytes({ revision: 6, signed: await signer.signValue({ hello: "world" }) }));
    await follow.receive(bytes("not a broadcast"));
    expect(applied).toEqual([]);
    expect(follow.stats).toEqual({ applied: 0, rejected: 4 });
  });

  it("keeps a copy that arrived before any key was trusted, and applies it once one is", async () => {
    const signer = await actionSigner();
    const { follow, applied } = follower();
    await follow.receive(bytes({ revision: 4, signed: await signer.signValue(policyAt(4, { floodPps: 1000 })) }));
    expect(applied).toEqual([]);
    await follow.trust([signer.key]);
    expect(applied.map((p) => p.revision)).toEqual([4]);
  });
});

describe("reflexes under a policy", () => {
  it("isolate at the governed flood rate, and go back to the configured one when the policy leaves it unset", () => {
    const applied: ActionParams[] = [];
    const reflexes = new Reflexes(
      {
        apply: (p) => {
          applied.push(p);
          return Promise.resolve();
        },
      },
      silentLogger,
    );
    const flood = (pps: number, now: number) =>
      reflexes.observe(
        [],
        [{ source: "10.0.0.9", packetsPerS: pps, bytesPerS: pps * 100, droppedPerS: 0, blocked: false }],
        now,
      );
    expect(flood(2000, 0)).toEqual([]); // under the configured 5000
    reflexes.applyPolicy({ floodPps: 1000 });
    expect(flood(2000, 1)).toHaveLength(1);
    reflexes.applyPolicy({});
    expect(flood(2000, 120_000)).toEqual([]);
  });
});
