import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newlyPolymorphic, readIcSites, type IcSite } from "../../bench/lab/ic-log.js";

/** Reads `o.a` off objects of one shape, or of three when run with `mixed`; then `o[k]` with three keys. */
const SCRIPT = `function read(o) { return o.a; }
const shapes = process.argv[2] === "mixed" ? [{ a: 1 }, { a: 1, b: 2 }, { b: 1, a: 2 }] : [{ a: 1 }];
let sum = 0;
for (let i = 0; i < 3000; i++) sum += read(shapes[i % shapes.length]);
function get(o, k) { return o[k]; }
for (let i = 0; i < 300; i++) get({ a: 1, b: 2, c: 3 }, ["a", "b", "c"][i % 3]);
`;

let dir: string;
let uniform: Map<string, IcSite>;
let mixed: Map<string, IcSite>;

async function logOf(run: string): Promise<Map<string, IcSite>> {
  const log = join(dir, `${run}.log`);
  execFileSync(process.execPath, [
    "--log-ic",
    "--no-logfile-per-isolate",
    `--logfile=${log}`,
    join(dir, "shapes.cjs"),
    run,
  ]);
  return readIcSites(log, `${dir}/`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x0-ic-"));
  await writeFile(join(dir, "shapes.cjs"), SCRIPT);
  [uniform, mixed] = [await logOf("uniform"), await logOf("mixed")];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readSite = (sites: Map<string, IcSite>) =>
  [...sites.values()].find((s) => s.where.startsWith("shapes.cjs:1:") && s.type === "LoadIC" && s.key === "a");

describe("V8 inline-cache log", () => {
  it("finds a site in its script and function, monomorphic with one shape and polymorphic with three", () => {
    expect(readSite(uniform)).toMatchObject({ inFunction: "read", states: "1", maps: 1, degree: 1 });
    expect(readSite(mixed)).toMatchObject({ inFunction: "read", maps: 3, degree: 2 });
    expect(readSite(mixed)?.states).toContain("P");
  });

  it("takes a keyed access as one site whatever keys it reads", () => {
    const keyed = [...uniform.values()].filter((s) => s.where.startsWith("shapes.cjs:5:") && s.type === "KeyedLoadIC");
    expect(keyed).toHaveLength(1);
    expect(keyed[0]).toMatchObject({ inFunction: "get", key: "a" });
  });

  it("reports the site that went polymorphic in the second log, and nothing the other way round", () => {
    const found = newlyPolymorphic(uniform, mixed).map(({ site, was }) => ({
      where: site.where,
      key: site.key,
      was: was?.states,
    }));
    expect(found).toContainEqual({ where: readSite(mixed)?.where, key: "a", was: "1" });
    expect(newlyPolymorphic(mixed, uniform).filter(({ site }) => site.where.startsWith("shapes.cjs"))).toEqual([]);
  });
});
