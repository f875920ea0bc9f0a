/**
 * The one way to D1: drizzle over schema/index.ts. A column is named only in the schema, so renaming
 * it breaks the type-check of every query that uses it, not a statement at run time
 * (test/node/schema-rename.test.ts). Groups that must be atomic are one `batch` of these queries.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";

export type Db = DrizzleD1Database;

/** One statement of a D1 batch (the batch is one transaction). */
export type Statement = BatchItem<"sqlite">;

/** A batch has at least one statement. */
export type Statements = [Statement, ...Statement[]];

/**
 * Every column of `T`, as the select list of `insert(T).select(...)`: the compiler checks the names
 * (all of them, none extra), drizzle checks at run time that they come in the table's order.
 */
export type InsertSelect<T extends SQLiteTable> = { [K in keyof T["$inferInsert"]]-?: SQL.Aliased };

/**
 * `value` as a bound parameter in a select list, typed and encoded as `column` (drizzle wants every
 * select expression named: it takes the column's name).
 */
export const bound = <C extends SQLiteColumn>(column: C, value: C["_"]["data"] | null): SQL.Aliased =>
  sql`${sql.param(value, column)}`.as(column.name);

/** SUM over no rows is NULL in SQL: money sums read 0 then. */
export const total = (column: SQLiteColumn): SQL<number> => sql<number>`coalesce(sum(${column}), 0)`.mapWith(Number);
