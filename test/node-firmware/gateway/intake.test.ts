import { afterEach, describe, expect, it } from "vitest";
import { IntakeControl } from "../../../node-firmware/gateway/intake.js";
import { waitFor } from "../../helpers/mqtt.js";

function setup() {
  const calls: string[] = [];
  const backlog = { queued: 0, reachable: true };
  const control = new IntakeControl({ pauseIntake: () => calls.push("pause"), resumeIntake: () => calls.push("resume") }, backlog, 100, 50);
  return { calls, backlog, control };
}

let stop: (() => void) | undefined;
afterEach(() => stop?.());

describe("intake control", () => {
  it("pauses at the high mark while the edge is reachable, resumes at the low mark, and counts the time", async () => {
    const { calls, backlog, control } = setup();
    stop = () => { control.stop(); };
    backlog.queued = 99;
    control.check();
    expect(calls).toEqual([]);
    backlog.queued = 100;
    control.check();
    expect(calls).toEqual(["pause"]);
    expect(control.paused).toBe(true);
    backlog.queued = 60;
    control.check();
    expect(calls).toEqual(["pause"]);
    backlog.queued = 50; // noticed by its own timer while paused
    await waitFor(() => !control.paused, 1000, "resumed");
    expect(calls).toEqual(["pause", "resume"]);
    expect(control.stats.pauses).toBe(1);
    expect(control.pausedMs).toBeGreaterThan(0);
  });

  it("never pauses for an edge that is down (the queue on disk rides out outages), and resumes when it goes down", () => {
    const { calls, backlog, control } = setup();
    backlog.queued = 1000;
    backlog.reachable = false;
    control.check();
    expect(calls).toEqual([]);
    backlog.reachable = true;
    control.check();
    backlog.reachable = false;
    control.check();
    expect(calls).toEqual(["pause", "resume"]);
  });
});
