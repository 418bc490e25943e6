import { exports } from "cloudflare:workers";

const BASE = "http://control-plane.test";

/** Requests go through the Worker's own fetch handler, inside workerd, with the test D1. */
export const fetchWorker = (path: string, init?: RequestInit): Promise<Response> =>
  exports.default.fetch(`${BASE}${path}`, init);

export const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetchWorker(path, { headers });

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetchWorker(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
