import type { ProcessStats } from "../../protocol/index.js";

/** CPU use of this process since the previous reading, as a share of one core. */
export class ProcessStatsReader {
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  read(): ProcessStats {
    const cpu = process.cpuUsage();
    const at = process.hrtime.bigint();
    const usedUs = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    const wallUs = Number(at - this.lastAt) / 1000;
    this.lastCpu = cpu;
    this.lastAt = at;
    const cpuPercent = wallUs > 0 ? Math.round((usedUs / wallUs) * 10_000) / 100 : 0;
    return { rssBytes: process.memoryUsage.rss(), cpuPercent };
  }
}
