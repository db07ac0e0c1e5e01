/**
 * `aim runs export` and `aim metrics export`: search results as CSV or JSON
 * lines, for spreadsheets, pandas and other programs (the Python client's
 * `Repo` reads a local repository through them).
 *
 * @module
 */

import {
  parse,
  SEARCH_OPTIONS,
  searchOptions,
  UsageError,
  warnIfNoIndex,
} from "./_args.ts";
import {
  AimError,
  type ListedRun,
  MAX_LIMIT,
  type ParamValue,
  readSeries,
  Repo,
  runToJson,
  searchMetrics,
  searchRuns,
} from "../lib/mod.ts";
import { canonicalJson } from "../lib/util/mod.ts";

const EXPORT_OPTIONS = {
  query: SEARCH_OPTIONS.query,
  sort: SEARCH_OPTIONS.sort,
  limit: SEARCH_OPTIONS.limit,
  offset: SEARCH_OPTIONS.offset,
  format: { type: "string", default: "csv" },
  output: { type: "string", short: "o" },
} as const;

/** The attribute columns of a run, first in `aim runs export`'s CSV. */
const RUN_COLUMNS = [
  "hash",
  "name",
  "experiment",
  "description",
  "tags",
  "status",
  "signal",
  "exit_code",
  "live",
  "indexed",
  "archived",
  "created_at",
  "ended_at",
  "duration",
  "data_version",
] as const;

/** Help of `aim runs export`. */
export const RUNS_EXPORT_HELP =
  `Usage: aim runs export [--repo PATH] [--query Q] [--sort KEY] [--limit N] [--offset N]
                      [--format csv|jsonl] [--output FILE]

Writes the runs matching a query (indexed or not) as CSV (the default) or
JSON lines, to standard output or FILE.

JSON lines: one run per line, as 'aim runs ls --json' shows it.
CSV: one row per run. Columns: ${RUN_COLUMNS.join(", ")}; then one
column per parameter leaf, named by its dotted path (hparams.lr; lists are
leaves, as JSON; a path that is another column's name gets the prefix
"params."); then, per series, metrics.NAME.FIELD (context {}) or
metrics.NAME{CONTEXT}.FIELD (CONTEXT as compact JSON with sorted keys) for
FIELD in last, min, max, count, last_step. Non-finite numbers are NaN,
Infinity, -Infinity; lists (tags) are JSON.`;

/** Help of `aim metrics export`. */
export const METRICS_EXPORT_HELP =
  `Usage: aim metrics export [--repo PATH] [--query Q] [--sort KEY] [--limit N] [--offset N]
                         [--format csv|jsonl] [--points N] [--from STEP] [--to STEP]
                         [--output FILE]

Writes the points of every series matching a metric query (indexed or not)
as CSV (the default) or JSON lines, to standard output or FILE. --points N
downsamples each series to N buckets keeping each bucket's first, last,
lowest and highest point (default 0: every point); --from and --to bound
the steps.

JSON lines: one series per line: {"run": {...as runs ls --json},
"name", "context", "total", "resolution", "steps", "values", "epochs",
"times"}. CSV: one row per point: hash, run_name, experiment, name,
context (compact JSON), step, epoch (empty when none), time (seconds since
the epoch), value. Non-finite numbers are NaN, Infinity, -Infinity.`;

const SUMMARY_FIELDS = ["last", "min", "max", "count", "last_step"] as const;

/** `aim runs export`. */
export async function runsExport(args: string[]): Promise<number> {
  const { values } = parse("aim runs export", args, EXPORT_OPTIONS);
  if (values.help) return (console.log(RUNS_EXPORT_HELP), 0);
  const format = _format("aim runs export", values.format);
  const repo = Repo.openSync(values.repo);
  try {
    warnIfNoIndex(repo);
    const { runs, unreadable } = searchRuns(
      repo,
      values.query ?? "",
      searchOptions("aim runs export", values, MAX_LIMIT),
    );
    for (const failure of unreadable) {
      console.error(`warning: ${failure.reason}`);
    }
    await using out = await _output(values.output);
    if (format === "jsonl") {
      for (const run of runs) await out.write(_json(runToJson(run)) + "\n");
      return 0;
    }
    const table = runsTable(runs);
    await out.write(_csvRow(table.columns));
    for (const row of table.rows) await out.write(_csvRow(row));
    return 0;
  } finally {
    repo.close();
  }
}

/** `aim metrics export`. */
export async function metricsExport(args: string[]): Promise<number> {
  const { values } = parse("aim metrics export", args, {
    ...EXPORT_OPTIONS,
    points: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
  });
  if (values.help) return (console.log(METRICS_EXPORT_HELP), 0);
  const format = _format("aim metrics export", values.format);
  const points = _int("aim metrics export", "--points", values.points) ?? 0;
  const from = _int("aim metrics export", "--from", values.from, true);
  const to = _int("aim metrics export", "--to", values.to, true);
  const repo = Repo.openSync(values.repo);
  try {
    warnIfNoIndex(repo);
    const page = searchMetrics(
      repo,
      values.query ?? "",
      searchOptions("aim metrics export", values, MAX_LIMIT),
    );
    for (const failure of page.unreadable) {
      console.error(`warning: ${failure.reason}`);
    }
    await using out = await _output(values.output);
    if (format === "csv") {
      await out.write(
        _csvRow([
          "hash",
          "run_name",
          "experiment",
          "name",
          "context",
          "step",
          "epoch",
          "time",
          "value",
        ]),
      );
    }
    let failed = 0;
    for (const { run, series } of page.matches) {
      let data;
      try {
        data = readSeries(repo, run.record.hash, series.name, series.context, {
          points,
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        });
      } catch (error) {
        if (!(error instanceof AimError)) throw error;
        console.error(`warning: ${error.message}`);
        failed++;
        continue;
      }
      if (format === "jsonl") {
        await out.write(
          _json({
            run: runToJson(run),
            name: data.name,
            context: data.context,
            total: data.total,
            resolution: data.resolution,
            steps: data.steps,
            values: data.values,
            epochs: data.epochs,
            times: data.times,
          }) + "\n",
        );
        continue;
      }
      const head = [
        run.record.hash,
        run.record.name,
        run.record.experiment,
        series.name,
        canonicalJson(series.context),
      ].map(_csvCell).join(",");
      let text = "";
      for (let i = 0; i < data.steps.length; i++) {
        const epoch = data.epochs[i];
        text += `${head},${data.steps[i]},${
          epoch === null || epoch === undefined ? "" : epoch
        },${data.times[i]},${_number(data.values[i]!)}\n`;
        if (text.length >= 1 << 16) {
          await out.write(text);
          text = "";
        }
      }
      await out.write(text);
    }
    return failed > 0 ? 1 : 0;
  } finally {
    repo.close();
  }
}

/**
 * The CSV table of `runs`: attribute columns, then one column per
 * parameter leaf (dotted path, `params.` in front when it would take
 * another column's name), then five per series.
 */
export function runsTable(
  runs: ListedRun[],
): { columns: string[]; rows: string[][] } {
  const flat = runs.map((run) => _flatten(run.record.params));
  const paramPaths = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  const seriesKeys = new Map<string, string>();
  for (const run of runs) {
    for (const m of run.record.metrics) {
      const context = canonicalJson(m.context);
      const key = `${m.name}\u0000${context}`;
      if (!seriesKeys.has(key)) {
        seriesKeys.set(
          key,
          `metrics.${m.name}${context === "{}" ? "" : context}`,
        );
      }
    }
  }
  const metricColumns = [...seriesKeys.values()].flatMap((base) =>
    SUMMARY_FIELDS.map((field) => `${base}.${field}`)
  );
  const taken = new Set<string>([...RUN_COLUMNS, ...metricColumns]);
  const paramColumns = paramPaths.map((path) =>
    taken.has(path) || path.startsWith("params.") ? `params.${path}` : path
  );
  const rows = runs.map((run, i) => {
    const json = runToJson(run);
    const row = RUN_COLUMNS.map((column) => _cellValue(json[column]));
    for (const path of paramPaths) {
      const value = flat[i]!.get(path);
      row.push(value === undefined ? "" : _cellValue(value));
    }
    const byKey = new Map(
      run.record.metrics.map((m) => [
        `${m.name}\u0000${canonicalJson(m.context)}`,
        m,
      ]),
    );
    for (const key of seriesKeys.keys()) {
      const m = byKey.get(key);
      for (const field of SUMMARY_FIELDS) {
        row.push(m === undefined ? "" : _cellValue(m[field]));
      }
    }
    return row;
  });
  return { columns: [...RUN_COLUMNS, ...paramColumns, ...metricColumns], rows };
}

/** Leaves of nested params by dotted path; lists and empty objects are leaves. */
function _flatten(
  params: Record<string, ParamValue>,
  prefix = "",
  out = new Map<string, ParamValue>(),
): Map<string, ParamValue> {
  for (const [key, value] of Object.entries(params)) {
    const path = prefix + key;
    if (
      value !== null && typeof value === "object" && !Array.isArray(value) &&
      Object.keys(value).length > 0
    ) {
      _flatten(value, `${path}.`, out);
    } else out.set(path, value);
  }
  return out;
}

function _cellValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return _number(value);
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  return _json(value);
}

/** A number as CSV shows it: shortest round-trip text; NaN, Infinity, -Infinity. */
function _number(value: number): string {
  return String(value);
}

function _csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function _csvRow(cells: string[]): string {
  return cells.map(_csvCell).join(",") + "\n";
}

/** JSON with non-finite numbers as the strings "NaN", "Infinity", "-Infinity". */
function _json(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) =>
      typeof item === "number" && !Number.isFinite(item) ? String(item) : item,
  );
}

function _format(command: string, text: string): "csv" | "jsonl" {
  if (text !== "csv" && text !== "jsonl") {
    throw new UsageError(
      `--format must be csv or jsonl, got ${JSON.stringify(text)}`,
      command,
    );
  }
  return text;
}

function _int(
  command: string,
  flag: string,
  text: string | undefined,
  signed = false,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (
    text.trim() === "" || !Number.isSafeInteger(value) ||
    (!signed && value < 0)
  ) {
    throw new UsageError(
      `${flag} must be ${signed ? "an" : "a non-negative"} integer, got ${
        JSON.stringify(text)
      }`,
      command,
    );
  }
  return value;
}

/** Standard output, or `path` (created or truncated), written in large pieces. */
async function _output(
  path: string | undefined,
): Promise<{ write(text: string): Promise<void> } & AsyncDisposable> {
  let file: Deno.FsFile | null = null;
  if (path !== undefined) {
    try {
      file = await Deno.open(path, {
        write: true,
        create: true,
        truncate: true,
      });
    } catch (error) {
      throw new AimError(
        "bad_request",
        `Cannot write --output ${path}: ${
          error instanceof Error ? error.message : error
        }`,
        { cause: error },
      );
    }
  }
  const target = file ?? Deno.stdout;
  const encoder = new TextEncoder();
  let pending = "";
  const drain = async () => {
    const bytes = encoder.encode(pending);
    pending = "";
    for (let done = 0; done < bytes.length;) {
      done += await target.write(bytes.subarray(done));
    }
  };
  return {
    async write(text: string) {
      pending += text;
      if (pending.length >= 1 << 16) await drain();
    },
    async [Symbol.asyncDispose]() {
      await drain();
      file?.close();
    },
  };
}
