/**
 * The query language (close to Aim's AimQL) and searching with it: one
 * parser, two engines that must agree (an in-memory evaluator for run
 * spaces, a SQL compiler for the index), and the searches that merge both
 * (docs/ARCHITECTURE.md, "Queries").
 *
 * @module
 */

export {
  type ArithmeticOp,
  type BinaryExpr,
  type CallExpr,
  type CompareExpr,
  type CompareOp,
  type DictExpr,
  type Expr,
  type ListExpr,
  type LiteralExpr,
  type LogicalExpr,
  MAX_QUERY_DEPTH,
  MAX_QUERY_LENGTH,
  type MemberExpr,
  METRIC_FIELDS,
  type MetricExpr,
  type MetricField,
  type ParamExpr,
  parseIsoDate,
  parseQuery,
  type PathKey,
  type Query,
  QUERY_METHODS,
  type QueryMethod,
  QuerySyntaxError,
  RUN_ATTRIBUTES,
  type RunAttrExpr,
  type RunAttribute,
  type RunMetricExpr,
  SEQUENCE_FIELDS,
  type SequenceExpr,
  type SequenceField,
  type UnaryExpr,
} from "./parser.ts";
export {
  compareCodePoints,
  compareValues,
  evalMetricQuery,
  evalRunQuery,
  evalSequenceQuery,
  evalValue,
  type QueryValue,
  truthy,
  valuesEqual,
} from "./eval.ts";
export {
  type CompiledQuery,
  compileMetricQuery,
  compileRunQuery,
  compileSequenceQuery,
  type SqlArg,
} from "./sql.ts";
export {
  MAX_LIMIT,
  type MetricMatch,
  type MetricPage,
  type RunPage,
  searchMetrics,
  type SearchOptions,
  searchRuns,
  searchSequences,
  type SequenceMatch,
  type SequencePage,
} from "./search.ts";
export { isoTime, runToJson } from "./run_json.ts";
export {
  FIELD_ATTRIBUTES,
  type FieldCatalog,
  type FieldOptions,
  type FieldRow,
  type FieldTable,
  listFields,
  listSeries,
  MAX_FIELDS,
  runFields,
  type SeriesName,
} from "./fields.ts";
export {
  closestNames,
  editDistance,
  forEachExpr,
  formatParamPath,
  type NameWarning,
  orList,
  paramNameWarnings,
  paramsNamed,
} from "./names.ts";
export {
  checkNames,
  knownParamPaths,
  type NamedTexts,
  type QueryNameWarning,
} from "./name_check.ts";
