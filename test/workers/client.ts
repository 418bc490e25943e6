import { SELF } from "cloudflare:test";

export const BASE = "http://control-plane.test";

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const get = (path: string, init?: RequestInit): Promise<Response> => SELF.fetch(`${BASE}${path}`, init);
