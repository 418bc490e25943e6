import { describe, expect, it } from "vitest";
import {
  BatmanIvMesh,
  DEFAULT_HOP_PENALTY,
  PURGE_TIMEOUT_MS,
  TQ_MAX,
} from "../../../../node-firmware/mesh/simulated/batman-iv.js";

const ticks = (mesh: BatmanIvMesh, n: number) => {
  for (let i = 0; i < n; i++) mesh.tick();
};
const tqOf = (mesh: BatmanIvMesh, at: string, originator: string) =>
  mesh.originators(at).find((r) => r.originator === originator && r.best)?.tq;

function line(n: number, loss = 0): BatmanIvMesh {
  const ids = Array.from({ length: n }, (_, i) => `n${String(i)}`);
  const mesh = new BatmanIvMesh(ids);
  for (let i = 1; i < n; i++) mesh.connect(`n${String(i - 1)}`, `n${String(i)}`, loss);
  return mesh;
}

describe("B.A.T.M.A.N. IV simulation", () => {
  it("on perfect links: TQ 255 to a neighbor, and the hop penalty (30) once per forwarding hop", () => {
    const mesh = line(4);
    ticks(mesh, 80); // past the 64-OGM window
    expect(tqOf(mesh, "n0", "n1")).toBe(TQ_MAX);
    const oneHop = Math.round((TQ_MAX * (TQ_MAX - DEFAULT_HOP_PENALTY)) / TQ_MAX);
    expect(tqOf(mesh, "n0", "n2")).toBe(oneHop); // 225
    expect(tqOf(mesh, "n0", "n3")).toBe(Math.round((oneHop * (TQ_MAX - DEFAULT_HOP_PENALTY)) / TQ_MAX)); // 199
    expect(mesh.bestNextHop("n0", "n3")).toBe("n1");
  });

  it("a lossy link lowers TQ by both directions' delivery (eq/rq), and hearing a neighbor poorly costs the cubic asymmetric-link penalty", () => {
    const tqWith = (aToB: number, bToA: number) => {
      const mesh = new BatmanIvMesh(["a", "b"], 3);
      mesh.connect("a", "b", aToB, bToA);
      ticks(mesh, 300);
      return tqOf(mesh, "a", "b") as number;
    };
    // 20 % each way: rq ≈ 0.8, eq ≈ 0.64, tq_own ≈ 255 × 0.8; the asymmetry term barely matters.
    expect(tqWith(0.2, 0.2)).toBeGreaterThan(170);
    expect(tqWith(0.2, 0.2)).toBeLessThan(225);
    // b hears only half of a: a sees it in its echoes (eq/rq ≈ 0.5).
    expect(tqWith(0.5, 0)).toBeGreaterThan(100);
    expect(tqWith(0.5, 0)).toBeLessThan(155);
    // a hears only half of b, b hears all of a: tq_own stays ≈ 255, the penalty 255 − 255·(32/64)³ ≈ 223 applies.
    expect(tqWith(0, 0.5)).toBeGreaterThan(200);
    expect(tqWith(0, 0.5)).toBeLessThan(240);
  });

  it("reconverges after a link failure the way batman IV does: the dead route's ring fills with zeros", () => {
    // A ring of 5: n0 reaches n1 directly, or the long way round over n4, n3, n2.
    const mesh = new BatmanIvMesh(["n0", "n1", "n2", "n3", "n4"]);
    for (const [a, b] of [
      ["n0", "n1"],
      ["n1", "n2"],
      ["n2", "n3"],
      ["n3", "n4"],
      ["n4", "n0"],
    ] as const)
      mesh.connect(a, b);
    ticks(mesh, 80);
    expect(mesh.bestNextHop("n0", "n1")).toBe("n1");
    const switchesBefore = mesh.pathSwitches("n0");
    mesh.disconnect("n0", "n1");
    let seconds = 0;
    while (mesh.bestNextHop("n0", "n1") !== "n4" && seconds < 60) {
      mesh.tick();
      seconds++;
    }
    expect(mesh.bestNextHop("n0", "n1")).toBe("n4");
    expect(seconds).toBeGreaterThanOrEqual(2);
    expect(seconds).toBeLessThanOrEqual(5);
    // n1 and the originators behind it (n2) moved to the long way round: every move is a path switch.
    expect(mesh.pathSwitches("n0")).toBeGreaterThan(switchesBefore);
  });

  it("keeps a silent originator until the purge timeout (200 s), then forgets it", () => {
    const mesh = line(3);
    ticks(mesh, 10);
    mesh.crash("n2");
    ticks(mesh, PURGE_TIMEOUT_MS / 1000 - 1);
    expect(mesh.originators("n0").some((r) => r.originator === "n2")).toBe(true);
    ticks(mesh, 2);
    expect(mesh.originators("n0").some((r) => r.originator === "n2")).toBe(false);
    expect(mesh.neighbors("n1").map((n) => n.neighbor)).toEqual(["n0"]);
  });
});
