import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseChoice } from "../../ctl/dao.js";
import { ProposalDetail } from "../../protocol/index.js";
import { runCliAgainst, startControlPlane, type ControlPlane } from "../helpers/control-plane.js";

let cp: ControlPlane;
let dir: string;
beforeAll(async () => {
  cp = await startControlPlane();
  dir = await mkdtemp(join(tmpdir(), "x0-dao-cli-"));
});
afterAll(async () => {
  await cp.dispose();
  await rm(dir, { recursive: true, force: true });
});

const run = (...argv: string[]) => runCliAgainst(cp, ...argv);

describe("x0ctl dao against the real control plane, signing with snapshot.js", () => {
  it("sets up a space, proposes with a payload, votes, and shows the tally", async () => {
    const key = join(dir, "admin.key");
    const created = await run("dao", "key", "new", key);
    expect(created.code).toBe(0);
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    const address = created.out.trim();
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const settings = {
      name: "cli",
      admins: [address],
      quorum: 1,
      strategy: {
        name: "erc20-balance-of",
        token: "0x00000000000000000000000000000000000000cc",
        decimals: 0,
        symbol: "X0",
      },
    };
    await writeFile(join(dir, "space.json"), JSON.stringify(settings));
    expect((await run("dao", "space", "cli.x0", join(dir, "space.json"))).out).toMatch(/cli.x0: cli, 1 admin/);
    await writeFile(join(dir, "balances.json"), JSON.stringify({ block: 1, balances: { [address]: "42" } }));
    expect((await run("dao", "balances", "cli.x0", join(dir, "balances.json"))).out).toBe("1 balance(s) at block 1");
    await writeFile(
      join(dir, "changes.json"),
      JSON.stringify([{ kind: "guard-rail", limit: "cooldown-seconds", value: 90 }]),
    );
    const proposed = await run(
      "dao",
      "propose",
      "Lengthen the cooldown",
      "--space",
      "cli.x0",
      "--key",
      key,
      "--block",
      "1",
      "--changes",
      join(dir, "changes.json"),
    );
    expect(proposed.err).toBe("");
    const id = proposed.out.trim();
    expect((await run("dao", "vote", id, "for", "--key", key, "--reason", "yes")).code).toBe(0);
    const status = await run("dao", "status", id, "--json");
    const detail = ProposalDetail.parse(JSON.parse(status.out));
    expect(detail).toMatchObject({ type: "basic", payload: { changes: [{ kind: "guard-rail", value: 90 }] } });
    expect(detail.tally.scores).toEqual([42, 0, 0]);
    expect((await run("dao", "status", "--space", "cli.x0")).out).toMatch(/Lengthen the cooldown/);
    expect((await run("dao", "execute")).out).toMatch(/closed 0 proposal\(s\); ran 0 execution\(s\)/);
    expect(await readFile(key, "utf8")).toMatch(/^0x[0-9a-f]{64}\n$/);
  });

  it("names what is wrong: a refused vote's reason, a bad changes file, a missing key", async () => {
    const key = join(dir, "admin.key");
    const { proposals } = JSON.parse((await run("dao", "status", "--space", "cli.x0", "--json")).out) as {
      proposals: { id: string }[];
    };
    const refused = await run("dao", "vote", proposals[0]?.id ?? "", "7", "--key", key);
    expect(refused).toMatchObject({ code: 1, err: expect.stringMatching(/refused \(invalid-choice\)/) as string });
    await writeFile(join(dir, "bad.json"), JSON.stringify([{ kind: "reboot-everything" }]));
    const bad = await run("dao", "propose", "x", "--space", "cli.x0", "--key", key, "--changes", join(dir, "bad.json"));
    expect(bad.err).toMatch(/bad.json: changes.0.kind/);
    expect((await run("dao", "propose", "x", "--space", "cli.x0")).err).toMatch(/needs --key FILE/);
    expect((await run("dao", "propose", "x", "--space", "cli.x0", "--key", key)).err).toMatch(/needs --block N/);
  });
});

describe("choices as typed", () => {
  it("take each voting type's shape", () => {
    expect(parseChoice("basic", "against")).toBe(2);
    expect(parseChoice("single-choice", "3")).toBe(3);
    expect(parseChoice("approval", "1,3")).toEqual([1, 3]);
    expect(parseChoice("ranked-choice", "2,1,3")).toEqual([2, 1, 3]);
    expect(parseChoice("weighted", "1=2,3=1")).toEqual({ 1: 2, 3: 1 });
  });
});
