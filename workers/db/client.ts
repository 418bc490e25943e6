import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema.js";

const connect = (d1: D1Database) => drizzle(d1, { schema });
export type Database = ReturnType<typeof connect>;

/**
 * One drizzle instance per D1 binding: building one walks the whole schema (its relational
 * config), which cost every request more than its own queries did. The instance holds no
 * per-request state, and an isolate's binding is the same object from request to request.
 */
const opened = new WeakMap<D1Database, Database>();

export function openDatabase(d1: D1Database): Database {
  let db = opened.get(d1);
  if (!db) {
    db = connect(d1);
    opened.set(d1, db);
  }
  return db;
}

/** Runs statements as one D1 batch (one transaction); nothing to do for none. */
export async function runBatch(db: Database, statements: readonly BatchItem<"sqlite">[]): Promise<void> {
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/** A drizzle query as a D1 statement, to share a batch with SQL drizzle cannot build (INSERT … SELECT … WHERE). */
export function asD1Statement(
  d1: D1Database,
  query: { toSQL(): { sql: string; params: unknown[] } },
): D1PreparedStatement {
  const { sql, params } = query.toSQL();
  return d1.prepare(sql).bind(...params);
}
