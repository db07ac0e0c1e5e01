/**
 * The query language (close to Aim's AimQL) and searching with it: one
 * parser, two engines that must agree (an in-memory evaluator for run
 * spaces, a SQL compiler for the index), and the searches that merge both
 * (docs/ARCHITECTURE.md, "Queries").
 *
 * @module
 */

export {
  type Expr,
  MAX_QUERY_DEPTH,
  MAX_QUERY_LENGTH,
  METRIC_FIELDS,
  parseIsoDate,
  parseQuery,
  type Query,
  QUERY_METHODS,
  QuerySyntaxError,
  RUN_ATTRIBUTES,
} from "./parser.ts";
export {
  compareCodePoints,
  compareValues,
  evalMetricQuery,
  evalRunQuery,
  evalValue,
  type QueryValue,
  truthy,
  valuesEqual,
} from "./eval.ts";
export {
  type CompiledQuery,
  compileMetricQuery,
  compileRunQuery,
} from "./sql.ts";
export {
  MAX_LIMIT,
  type MetricMatch,
  type MetricPage,
  type RunPage,
  searchMetrics,
  type SearchOptions,
  searchRuns,
} from "./search.ts";
export { runToJson } from "./run_json.ts";
