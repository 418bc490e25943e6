import { describe, expect, it } from "vitest";
import { dashboardPage } from "../../workers/dashboard/page.js";

describe("the built-in dashboard's page", () => {
  it("carries a script that parses (it is JavaScript inside a TypeScript template literal)", () => {
    const script = dashboardPage("n").split('<script nonce="n">')[1]?.split("</script>")[0] ?? "";
    expect(script).toContain("refresh()");
    // Parsing only: a Function body is compiled, not run.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    expect(() => new Function(script)).not.toThrow();
    expect(script).toContain(String.raw`.replace(/\*\*(.+?)\*\*/g, "<mark>$1</mark>")`);
    expect(script).toContain('metrics.split("\\n")');
  });
});
