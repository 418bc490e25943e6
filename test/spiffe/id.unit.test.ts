import { describe, expect, it } from "vitest";
import { SpiffeIdString } from "../../protocol/index.js";
import { fromBase64url, parseSpiffeId } from "../../spiffe/index.js";

const valid = [
  "spiffe://example.org",
  "spiffe://example.org/workload",
  "spiffe://a.b-c_d/Path/With.dots/x-y_z",
  "spiffe://td/.../a",
  "spiffe://td/.x",
];
const invalid = [
  ["scheme", "SPIFFE://example.org/x"],
  ["other scheme", "https://example.org/x"],
  ["upper-case trust domain", "spiffe://Example.org/x"],
  ["empty trust domain", "spiffe:///x"],
  ["port", "spiffe://example.org:443/x"],
  ["userinfo", "spiffe://user@example.org/x"],
  ["query", "spiffe://example.org/x?y"],
  ["fragment", "spiffe://example.org/x#y"],
  ["percent-encoding", "spiffe://example.org/x%20y"],
  ["empty segment", "spiffe://example.org//x"],
  ["trailing slash", "spiffe://example.org/x/"],
  ["dot segment", "spiffe://example.org/./x"],
  ["dot-dot segment", "spiffe://example.org/x/.."],
  ["other characters", "spiffe://example.org/x y"],
  ["too long", `spiffe://example.org/${"a".repeat(2048)}`],
] as const;

describe("SPIFFE ID (SPIFFE-ID.md)", () => {
  it.each(valid)("parses %s", (uri) => {
    const parsed = parseSpiffeId(uri);
    expect(parsed.ok && parsed.id.uri).toBe(uri);
  });

  it.each(invalid)("refuses %s", (_rule, uri) => {
    expect(parseSpiffeId(uri).ok).toBe(false);
  });

  it("the contract's schema refuses what the parser refuses, with its reason", () => {
    for (const uri of valid) expect(SpiffeIdString.safeParse(uri).success, uri).toBe(true);
    for (const [rule, uri] of invalid) {
      const parsed = parseSpiffeId(uri);
      expect(SpiffeIdString.safeParse(uri).error?.issues[0]?.message, rule).toBe(
        `invalid SPIFFE ID: ${parsed.ok ? "" : parsed.reason}`,
      );
    }
  });
});

describe("base64url", () => {
  it("decodes canonical text only: no padding, no white space, no spare bits set", () => {
    expect([...fromBase64url("AQID")]).toEqual([1, 2, 3]);
    expect([...fromBase64url("AQI")]).toEqual([1, 2]);
    for (const text of ["AQJ", "AQ==", "AQ", "A Q", "AQ+/", "A", "AQIDB"]) {
      const decodes = (() => {
        try {
          fromBase64url(text);
          return true;
        } catch {
          return false;
        }
      })();
      expect(decodes, text).toBe(text === "AQ");
    }
  });
});
