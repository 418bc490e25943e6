import { readFile } from "node:fs/promises";
import { parse } from "smol-toml";
import { z } from "zod";

const WranglerToml = z.looseObject({
  main: z.string(),
  compatibility_date: z.string(),
  compatibility_flags: z.array(z.string()).default([]),
  vars: z.record(z.string(), z.string()).default({}),
  d1_databases: z
    .array(
      z.looseObject({ binding: z.string(), database_id: z.string(), migrations_dir: z.string().default("migrations") }),
    )
    .min(1),
  durable_objects: z
    .looseObject({ bindings: z.array(z.looseObject({ name: z.string(), class_name: z.string() })).default([]) })
    .default({ bindings: [] }),
  triggers: z.looseObject({ crons: z.array(z.string()).default([]) }).default({ crons: [] }),
  /** Classes whose Durable Objects keep SQLite storage. */
  migrations: z.array(z.looseObject({ new_sqlite_classes: z.array(z.string()).default([]) })).default([]),
});
export type WranglerToml = z.infer<typeof WranglerToml>;

/** The parts of wrangler.toml the local stack needs, so it runs the Worker exactly as configured. */
export async function readWranglerToml(file: string): Promise<WranglerToml> {
  return WranglerToml.parse(parse(await readFile(file, "utf8")));
}
