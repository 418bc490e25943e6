import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTopology, type LabTopology } from "../../lab/topology.js";
import { UmlLab, linkIndex, umlNodesThatFit } from "../../lab/uml.js";
import { umlUplink } from "../../lab/uml-uplink.js";

/** Every node reachable from the first over the links. */
function connected({ nodes, links }: LabTopology): boolean {
  const seen = new Set([nodes[0]]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [a, b] of links) {
      if (seen.has(a) !== seen.has(b)) {
        seen.add(seen.has(a) ? b : a);
        grew = true;
      }
    }
  }
  return seen.size === nodes.length;
}

describe("lab topologies", () => {
  it("builds rings, lines and grids", async () => {
    expect((await parseTopology("ring:4")).links).toEqual([
      ["n1", "n2"],
      ["n2", "n3"],
      ["n3", "n4"],
      ["n4", "n1"],
    ]);
    expect((await parseTopology("line:3")).links).toHaveLength(2);
    const grid = await parseTopology("grid:2x3");
    expect([grid.nodes.length, grid.links.length]).toEqual([6, 7]);
  });

  it("builds a connected random mesh, the same for the same seed and another for another", async () => {
    const mesh = await parseTopology("random:12");
    expect(connected(mesh)).toBe(true);
    expect(mesh.links.length).toBeGreaterThanOrEqual(11 + 4); // a tree and about N/2 more links
    expect(new Set(mesh.links.map(([a, b]) => [a, b].sort().join(" "))).size).toBe(mesh.links.length);
    expect(await parseTopology("random:12:1")).toEqual(mesh);
    expect(await parseTopology("random:12:2")).not.toEqual(mesh);
  });

  it("refuses what does not parse or is out of bounds, saying what it takes", async () => {
    await expect(parseTopology("star:5")).rejects.toThrow("is not ring:N, line:N, grid:RxC, random:N[:SEED]");
    await expect(parseTopology("random:1")).rejects.toThrow("2..64 nodes");
    await expect(parseTopology("grid:10x10")).rejects.toThrow("at most 64 nodes");
  });

  it("names the link between two nodes, or says why there is none", async () => {
    const line = await parseTopology("line:3");
    expect(linkIndex(line, "n3", "n2")).toBe(1);
    expect(() => linkIndex(line, "n1", "n3")).toThrow("n1 and n3 share no link");
    expect(() => linkIndex(line, "n1", "n9")).toThrow("no node n9 in this lab");
  });
});

describe("the UML lab's bounds", () => {
  it.skipIf(umlNodesThatFit(true) >= 64)(
    "refuses more nodes with agents than fit here before it makes anything",
    async () => {
      const fit = umlNodesThatFit(true);
      expect(fit).toBeLessThan(umlNodesThatFit(false)); // a guest with an agent costs more
      const dir = join(await mkdtemp(join(tmpdir(), "x0-uml-bound-")), "lab");
      const agents = { node: process.execPath, bundle: "x0-node.mjs", configs: new Map() };
      const topology = await parseTopology(`ring:${String(fit + 1)}`);
      await expect(UmlLab.start({ name: "bound", topology, dir, agents })).rejects.toThrow(
        `${String(fit + 1)} UML nodes do not fit on this machine (at most ${String(fit)} with agents)`,
      );
      await expect(stat(dir)).rejects.toThrow(/ENOENT/);
      await rm(join(dir, ".."), { recursive: true, force: true });
    },
  );

  it("gives each lab its own tap and subnets, with interface names Linux takes", () => {
    const [a, b] = [umlUplink("lab"), umlUplink("e2e")];
    expect(a.tap).toBe("x0u-lab");
    expect(umlUplink("abcdefghijk").tap.length).toBeLessThanOrEqual(15);
    expect(a.meshSubnet).not.toBe(b.meshSubnet);
    expect(a.meshCidr(0)).toBe(`${a.meshIp(0)}/24`);
  });
});
