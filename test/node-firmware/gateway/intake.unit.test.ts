import { afterEach, describe, expect, it } from "vitest";
import { IntakeControl } from "../../../node-firmware/gateway/intake.js";
import { waitFor } from "../../helpers/mqtt.js";

/** A broker's intake with `held` messages waiting at authorization while paused. */
function setup(held = 0) {
  const calls: string[] = [];
  const backlog = { queued: 0, reachable: true };
  const intake = {
    held,
    pauseIntake: () => {
      calls.push("pause");
    },
    resumeIntake: (max = Infinity) => {
      const released = Math.min(max, intake.held);
      intake.held -= released;
      calls.push(intake.held === 0 ? "resume" : `release ${String(released)}`);
      return intake.held;
    },
  };
  const control = new IntakeControl(intake, backlog, 100, 50);
  return { calls, backlog, control, intake };
}

let stop: (() => void) | undefined;
afterEach(() => stop?.());

describe("intake control", () => {
  it("pauses at the high mark while the edge is reachable, resumes at the low mark, and counts the time", async () => {
    const { calls, backlog, control } = setup();
    stop = () => {
      control.stop();
    };
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

  it("after a pause lets held messages through only as far as the high mark, and runs free once none are held", () => {
    const { calls, backlog, control, intake } = setup(130);
    stop = () => {
      control.stop();
    };
    backlog.queued = 100;
    control.check();
    backlog.queued = 40;
    control.check();
    expect(calls).toEqual(["pause", "release 60"]);
    expect({ paused: control.paused, held: intake.held }).toEqual({ paused: true, held: 70 });
    backlog.queued = 80; // the released ones went into the backlog: nothing more until it is down to 50
    control.check();
    expect(intake.held).toBe(70);
    backlog.queued = 50;
    control.check();
    backlog.queued = 30;
    control.check();
    expect(calls).toEqual(["pause", "release 60", "release 50", "resume"]);
    expect(control.paused).toBe(false);
  });

  it("does not act on a check made while it releases (the released messages' batches call back)", () => {
    const backlog = { queued: 100, reachable: true };
    const releases: number[] = [];
    const intake = {
      pauseIntake: () => undefined,
      resumeIntake: (max = Infinity) => {
        releases.push(max);
        backlog.queued = 0;
        control.check();
        return 0;
      },
    };
    const control = new IntakeControl(intake, backlog, 100, 50);
    control.check();
    backlog.queued = 10;
    control.check();
    expect(releases).toEqual([90]);
    expect(control.paused).toBe(false);
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
