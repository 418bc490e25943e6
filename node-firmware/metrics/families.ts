import { Counter, Gauge, type Registry } from "prom-client";

/** A gauge of `registry` that the registry's collect sets. */
export function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Gauge<L> {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/**
 * A Counter that mirrors a cumulative count kept elsewhere (an agent's stats, the process's CPU
 * time): each scrape adds what it grew by. A count that went backwards (its source restarted) adds
 * nothing until it grows again.
 */
export class MirroredCounter<L extends string> {
  private readonly last = new Map<string, number>();
  readonly counter: Counter<L>;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[] = []) {
    this.counter = new Counter({ name, help, labelNames, registers: [registry] });
  }

  set(value: number, labels: Partial<Record<L, string>> = {}): void {
    const key = JSON.stringify(labels);
    const grown = value - (this.last.get(key) ?? 0);
    this.last.set(key, value);
    this.counter.inc(labels, Math.max(0, grown)); // 0 too: the series exists from the first scrape
  }

  /** One series per key of `counts`, the key as the value of `label`, beside the `fixed` labels. */
  setEach(label: L, counts: Readonly<Partial<Record<string, number>>>, fixed: Partial<Record<L, string>> = {}): void {
    for (const [key, value] of Object.entries(counts))
      if (value !== undefined) this.set(value, { ...fixed, [label]: key });
  }
}
