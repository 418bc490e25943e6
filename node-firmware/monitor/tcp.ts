import { limits, type TcpDestinationReading } from "../../protocol/index.js";
import { medianRttUs, type DestinationHealth } from "../ebpf/tcp-health-layout.js";

/** What the Monitor reads of tcp_health (the kernel program's maps). */
export interface TcpHealthReader {
  read(): Promise<DestinationHealth[]>;
}

/** The busiest destinations (by RTT samples), as telemetry carries them. */
export async function readTcpHealth(reader: TcpHealthReader): Promise<TcpDestinationReading[]> {
  const busiest = (await reader.read()).sort((a, b) => b.rttSamples - a.rttSamples).slice(0, limits.sources);
  return busiest.map((health) => ({
    destination: health.destination,
    retransmits: health.retransmits,
    rttSamples: health.rttSamples,
    medianRttUs: medianRttUs(health),
  }));
}
