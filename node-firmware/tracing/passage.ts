import { hrTime } from "@opentelemetry/core";
import { trace, ROOT_CONTEXT, type Attributes, type SpanKind, type Tracer } from "@opentelemetry/api";
import { formatTraceparent, type SpanContext as TraceparentContext } from "../../protocol/index.js";
import { remoteContext, traceparentOf } from "./propagation.js";

/** A message passing through: a span of no duration that continues its sender's trace. */
export interface Passage {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
  parent: TraceparentContext;
}

/** Records a passage and returns the traceparent the message goes on with. */
export type PassageRecorder = (passage: Passage) => string;

/** Untraced, a message goes on with its sender's traceparent, as a no-op tracer's child span would. */
export const passOn: PassageRecorder = ({ parent }) => formatTraceparent(parent);

/**
 * Records each passage as a child span of no duration of the trace it carries. The parent
 * decides, as the tracer's ParentBasedSampler does: a sampled trace gets the span, an unsampled
 * one goes on as it came, without a span made only to be dropped.
 */
export function passageRecorder(tracer: Tracer): PassageRecorder {
  return (passage) => {
    const { name, kind, attributes, parent } = passage;
    if (!parent.sampled) return passOn(passage);
    const time = hrTime();
    const span = tracer.startSpan(
      name,
      { kind, attributes, startTime: time },
      trace.setSpanContext(ROOT_CONTEXT, remoteContext(parent)),
    );
    span.end(time);
    return traceparentOf(span) ?? passOn(passage);
  };
}
