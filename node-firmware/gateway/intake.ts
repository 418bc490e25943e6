export interface Intake {
  pauseIntake(): void;
  /** Lets up to `max` held messages through; returns how many are still held (0: intake runs free). */
  resumeIntake(max?: number): number;
}

export interface Backlog {
  /** Items waiting for the edge. */
  readonly queued: number;
  /** False while the edge is down and deliveries are being retried. */
  readonly reachable: boolean;
}

export interface IntakeStats {
  pauses: number;
}

const CHECK_WHILE_PAUSED_MS = 50;

/**
 * Backpressure for an edge that is up but slower than the mesh: above `high` items waiting for
 * it the broker stops reading its clients, so TCP pushes back on the nodes (their QoS 1 publishes
 * wait) instead of the gateway taking in what it would drop from a full queue. Once the backlog
 * is down to `low`, held messages go through no more than fill it back to `high` at a time, and
 * intake runs free when none are held. While the edge is unreachable the broker reads on: the
 * queue on disk is there to ride out outages.
 */
export class IntakeControl {
  readonly stats: IntakeStats = { pauses: 0 };
  private pausedAt: number | undefined;
  /** Time spent in pauses that have ended. */
  private endedPausesMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private releasing = false;

  constructor(
    private readonly intake: Intake,
    private readonly backlog: Backlog,
    private readonly high: number,
    private readonly low: number,
  ) {}

  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  /** Time spent paused, the current pause included. */
  get pausedMs(): number {
    return this.endedPausesMs + (this.pausedAt === undefined ? 0 : performance.now() - this.pausedAt);
  }

  /** Pauses, releases or resumes as the backlog stands now. */
  check(): void {
    if (this.releasing) return; // a release hands messages on, and their batches call back here
    const { queued, reachable } = this.backlog;
    if (!this.paused && reachable && queued >= this.high) this.pause();
    else if (this.paused && !reachable) this.release(Infinity);
    else if (this.paused && queued <= this.low) this.release(this.high - queued);
  }

  stop(): void {
    if (this.paused) this.release(Infinity);
  }

  private pause(): void {
    this.pausedAt = performance.now();
    this.stats.pauses++;
    this.intake.pauseIntake();
    this.timer = setInterval(() => {
      this.check();
    }, CHECK_WHILE_PAUSED_MS);
  }

  private release(max: number): void {
    let stillHeld: number;
    this.releasing = true;
    try {
      stillHeld = this.intake.resumeIntake(max);
    } finally {
      this.releasing = false;
    }
    if (stillHeld > 0) return;
    clearInterval(this.timer);
    this.endedPausesMs = this.pausedMs;
    this.pausedAt = undefined;
  }
}
