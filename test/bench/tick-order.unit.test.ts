import { describe, expect, it } from "vitest";
import { tickOrder } from "../../bench/tick-order.js";

describe("tickOrder", () => {
  it("sends each of the tick's nodes once, wrapping at the last node", () => {
    expect(tickOrder(8, 4, 10, () => 0)).toEqual([8, 9, 0, 1]);
    expect(tickOrder(8, 4, 10, () => 0.6).sort((a, b) => a - b)).toEqual([0, 1, 8, 9]);
  });

  it("starts at the node the random draw picks and goes on in turn", () => {
    expect(tickOrder(0, 10, 1000, () => 0.35)).toEqual([3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
  });

  it("lets every gateway go first about equally often when nodes are dealt to gateways in turn", () => {
    const gateways = 4;
    const firsts = new Array<number>(gateways).fill(0);
    let next = 0;
    for (let tick = 0; tick < 4000; tick++) {
      const order = tickOrder(next, 10, 1000);
      next += 10;
      const first = (order[0] ?? 0) % gateways;
      firsts[first] = (firsts[first] ?? 0) + 1;
    }
    for (const n of firsts) expect(n).toBeGreaterThan(800);
  });
});
