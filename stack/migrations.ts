import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** The subset of D1Database that applying migrations needs (Miniflare's D1 proxy provides it). */
interface StatementLike {
  bind(...values: string[]): StatementLike;
  first<T>(): Promise<T | null>;
}
interface D1Like {
  prepare(sql: string): StatementLike;
  exec(sql: string): Promise<unknown>;
  batch(statements: StatementLike[]): Promise<unknown>;
}

/** Same table wrangler uses, so `wrangler d1 migrations apply DB --local` agrees on what is applied. */
const TABLE = "d1_migrations";

export function splitStatements(sql: string): string[] {
  const parts = sql.includes("--> statement-breakpoint") ? sql.split("--> statement-breakpoint") : sql.split(/;\s*$/m);
  return parts.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Applies, in name order, each migration not yet recorded; each one atomically with its record. */
export async function applyMigrations(db: D1Like, dir: string): Promise<string[]> {
  await db.exec(
    `CREATE TABLE IF NOT EXISTS ${TABLE}(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL);`,
  );
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const applied: string[] = [];
  for (const name of files) {
    const done = await db.prepare(`SELECT name FROM ${TABLE} WHERE name = ?`).bind(name).first<{ name: string }>();
    if (done) continue;
    const statements = splitStatements(await readFile(join(dir, name), "utf8")).map((s) => db.prepare(s));
    await db.batch([...statements, db.prepare(`INSERT INTO ${TABLE} (name) VALUES (?)`).bind(name)]);
    applied.push(name);
  }
  return applied;
}
