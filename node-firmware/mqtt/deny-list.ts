import type { MqttClient } from "mqtt";
import { DenyList, decodePayload, sharedTopics } from "../../protocol/index.js";
import type { DenyView } from "../identity/deny-view.js";
import { errorText, type Logger } from "../lib/log.js";

/** Keeps a node's deny view in step with the retained deny list; an invalid one is counted and ignored. */
export function followDenyList(client: MqttClient, view: DenyView, log: Logger): { rejected: number } {
  const stats = { rejected: 0 };
  client.on("connect", () => {
    client.subscribe(sharedTopics.denyList, { qos: 1 }, (error) => {
      if (error) log.warn("deny list subscription failed", { error: errorText(error) });
    });
  });
  client.on("message", (topic, payload) => {
    if (topic !== sharedTopics.denyList) return;
    const decoded = decodePayload(DenyList, payload);
    if (!decoded.ok) {
      stats.rejected++;
      log.warn("invalid deny list ignored", { reason: decoded.reason, detail: decoded.detail });
      return;
    }
    view.update(decoded.value);
    log.info("deny list updated", { entries: decoded.value.entries.length });
  });
  return stats;
}
