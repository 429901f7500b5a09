import { isExpression, RawNode, sql as sqlTag, type AliasableExpression, type AliasedExpression, type Kysely, type RawBuilder } from "kysely";
import type { DatasetDeclaration, DatasetRef, InputDeclarations, Row } from "./dataset-declaration.js";
import type { MappedInput } from "./mapped-input.js";
import type { PartitionInfo } from "./partition-keys.js";

/** The row type of an input as SQL sees it: the zod output of its schema. */
type SqlRowOf<D> =
  D extends DatasetDeclaration<string, infer R> ? R : D extends DatasetRef<infer R> ? R : D extends MappedInput<infer I> ? SqlRowOf<I> : never;

/**
 * Each input as a kysely table expression named after its alias: exactly the
 * input partitions the mapping selects, typed from the input's zod schema, so
 * `db.selectFrom(inputs.payments).select("amount_centz")` is a type error.
 */
export type SqlInputs<I extends InputDeclarations> = { readonly [K in keyof I & string]: AliasedExpression<SqlRowOf<I[K]>, K> };

export interface SqlContext<I extends InputDeclarations> {
  /** A query builder of the warehouse's dialect; it knows no tables but `inputs`. */
  readonly db: Kysely<{}>;
  readonly inputs: SqlInputs<I>;
  readonly partition: PartitionInfo;
  /** kysely's `sql` tag, for what the builder cannot express: sql`select … from ${inputs.payments}`. */
  readonly sql: typeof sqlTag;
}

/** Every column of the schema's row, of any type: a query missing one is a type error. */
export type SqlResultRow<R> = { [K in keyof R]: unknown };

/**
 * What a `sql` function returns: a kysely select whose columns cover the
 * schema's, or a `sql` template (its columns are checked at run time only).
 */
export type SqlQuery<R = Row> = AliasableExpression<SqlResultRow<R>> | RawBuilder<unknown>;

export type SqlFunction<I extends InputDeclarations = InputDeclarations, R = Row> = (context: SqlContext<I>) => SqlQuery<R>;

/** A value a `sql` function may return: a kysely expression that can be aliased (a select or a `sql` template). */
export function isSqlQuery(value: unknown): value is AliasableExpression<unknown> {
  return isExpression(value) && typeof (value as Partial<AliasableExpression<unknown>>).as === "function";
}



/**
 * A query as a named table expression (`from (…) as alias`): kysely
 * parenthesises a select itself but writes a `sql` template as it is.
 */
export function asTableExpression<R>(query: AliasableExpression<R>, alias: string): AliasedExpression<R, string> {
  return RawNode.is(query.toOperationNode()) ? sqlTag<R>`(${query})`.as(alias) : query.as(alias);
}
