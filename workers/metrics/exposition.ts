/** The Prometheus text exposition format (0.0.4), for a Worker where prom-client does not run. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface Sample {
  labels?: Record<string, string>;
  value: number;
  /** A histogram's series: `_bucket` (with an `le` label), `_sum`, `_count`. */
  suffix?: "_bucket" | "_sum" | "_count";
}

export interface MetricFamily {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  samples: Sample[];
}

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function sampleLine(name: string, sample: Sample): string {
  const labels = Object.entries(sample.labels ?? {});
  const rendered = labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
  return `${name}${rendered} ${String(sample.value)}`;
}

export function renderExposition(families: readonly MetricFamily[]): string {
  return families
    .map((f) =>
      [
        `# HELP ${f.name} ${escapeHelp(f.help)}`,
        `# TYPE ${f.name} ${f.type}`,
        ...f.samples.map((s) => sampleLine(`${f.name}${s.suffix ?? ""}`, s)),
      ].join("\n"),
    )
    .join("\n")
    .concat("\n");
}
