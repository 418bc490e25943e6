import { beforeAll, describe, expect, it } from "vitest";
import { LoginCode } from "../../protocol/index.js";
import { fetchWorker, get, postJson } from "./client.js";
import { adminToken, bearer } from "./identity-client.js";

let admin: string;
beforeAll(async () => {
  admin = await adminToken();
});

const loginCode = async () =>
  LoginCode.parse(await (await postJson("/api/v1/dashboard/login-codes", {}, bearer(admin))).json()).code;

async function session(code: string, origin = "http://control-plane.test"): Promise<Response> {
  return postJson("/api/v1/dashboard/session", { code }, { origin });
}

const cookieOf = (res: Response) => (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";

describe("dashboard login", () => {
  it("exchanges a single-use code for an HttpOnly, SameSite=Strict, host-only session cookie that reads the API", async () => {
    const code = await loginCode();
    const res = await session(code);
    expect(res.status).toBe(204);
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^x0_session=[\w-]{43}; Max-Age=3600; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toMatch(/Domain=/i);
    expect((await get("/api/v1/mesh/nodes", { cookie: cookieOf(res) })).status).toBe(200);
    expect((await session(code)).status).toBe(401); // spent
  });

  it("takes a cookie for reads only, never for a change", async () => {
    const cookie = cookieOf(await session(await loginCode()));
    const revoke = await postJson(
      "/api/v1/identity/revoke",
      { spiffeId: "spiffe://x0tta6bl4.mesh/node/victim", reason: "csrf" },
      { cookie },
    );
    expect(revoke.status).toBe(401);
  });

  it("refuses a code from another origin, an unknown code, and a forged cookie", async () => {
    expect((await session(await loginCode(), "https://evil.example")).status).toBe(403);
    expect((await session("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).status).toBe(401);
    expect((await fetchWorker("/api/v1/mesh/nodes", { headers: { cookie: "x0_session=forged" } })).status).toBe(401);
  });

  it("mints login codes for admins only", async () => {
    expect((await postJson("/api/v1/dashboard/login-codes", {})).status).toBe(401);
  });
});
