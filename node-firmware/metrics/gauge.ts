import { Gauge, type Registry } from "prom-client";

/** A gauge of `registry` that the registry's collect sets. */
export function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}
