/**
 * Argument parsing shared by the subcommands: `node:util` `parseArgs` with
 * usage errors that name the command and exit with code 2.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  AimError,
  checkNames,
  type ParamValue,
  Repo,
  type Run,
  type StartRunOptions,
} from "../lib/mod.ts";
import { initRepo } from "../lib/storage/mod.ts";
import { closestNames, orList } from "../lib/query/mod.ts";

/** How many malformed protocol lines are echoed to stderr before going quiet. */
export const ECHOED_ERRORS = 5;

/** A mistake in how a command was called: printed with a hint, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(message: string, readonly command: string) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * `unknown command "rnus": did you mean runs?`: a word that is not one of
 * `known`, with the closest of them (or all of them when none is close).
 */
export function unknownWord(
  what: string,
  word: string,
  known: readonly string[],
): string {
  const close = closestNames(word, known);
  return `unknown ${what} ${JSON.stringify(word)}: ${
    close.length > 0
      ? `did you mean ${orList(close)}?`
      : `expected ${orList(known)}`
  }`;
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  repo: { type: "string" },
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean" },
} as const satisfies Options;

/** Parses `args` strictly for `command`; unknown flags and missing values are usage errors. */
export function parse<const O extends Options>(
  command: string,
  args: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...options },
      strict: true,
      allowPositionals,
    });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new UsageError(
      _explain(error, args, { ...COMMON_OPTIONS, ...options }),
      command,
    );
  }
}

/**
 * What `parseArgs` refused, said so that it can be fixed: a value that
 * starts with a dash (`--sort -run.hparams.lr`, `--limit -1`) gets the
 * form to write or the rule, an unknown option the closest known ones.
 */
function _explain(error: TypeError, args: string[], options: Options): string {
  const message = error.message.replace(
    /\. To specify a positional argument.*$/s,
    "",
  );
  const code = (error as TypeError & { code?: string }).code;
  const flag = /^Option '(?:-\w, )?(--[\w-]+)/.exec(message)?.[1];
  if (
    code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag !== undefined &&
    /ambiguous/.test(message)
  ) {
    const name = flag.slice(2);
    const short = options[name]?.short;
    const at = args.findIndex((arg) =>
      arg === flag || (short !== undefined && arg === `-${short}`)
    );
    const value = args[at + 1];
    if (value !== undefined) {
      if (/^-(\d|\.\d)/.test(value)) {
        return `${flag} must be 0 or more, got ${value}`;
      }
      return `${flag}'s value ${
        JSON.stringify(value)
      } starts with a dash, so it reads as an option: write it joined with =, as in ${flag}=${value}`;
    }
  }
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const given = /^Unknown option '(-?-[^']*)'/.exec(message)?.[1];
    if (given !== undefined) {
      const known = Object.keys(options).map((name) => `--${name}`);
      const close = closestNames(given.replace(/=.*$/, ""), known);
      if (close.length > 0) return `${message}: did you mean ${orList(close)}?`;
    }
  }
  return message;
}

/** Writes `value` as JSON; non-finite numbers become the strings "NaN", "Infinity", "-Infinity". */
export function printJson(value: unknown): void {
  console.log(
    JSON.stringify(
      value,
      (_key, item) =>
        typeof item === "number" && !Number.isFinite(item)
          ? String(item)
          : item,
      2,
    ),
  );
}

/** Flags shared by the search commands (`runs ls`, `metrics ls`). */
export const SEARCH_OPTIONS = {
  json: { type: "boolean" },
  query: { type: "string", short: "q" },
  sort: { type: "string" },
  limit: { type: "string" },
  offset: { type: "string" },
} as const satisfies Options;

/** The search options from parsed search flags; a bad --limit or --offset is a usage error. */
export function searchOptions(
  command: string,
  values: { sort?: string; limit?: string; offset?: string },
  maxLimit: number,
): { sort?: string; limit: number; offset: number } {
  return {
    limit: intOption(command, "limit", values.limit, maxLimit),
    offset: intOption(command, "offset", values.offset, 0),
    ...(values.sort !== undefined ? { sort: values.sort } : {}),
  };
}

/**
 * A flag holding a number of seconds from `min` to `max`, or `fallback`
 * when absent; anything else is a usage error naming the range.
 */
export function secondsOption(
  command: string,
  flag: string,
  text: string | undefined,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === "" || !(value >= min && value <= max)) {
    throw new UsageError(
      `${flag} must be a number of seconds from ${min} to ${max}, got ${
        JSON.stringify(text)
      }`,
      command,
    );
  }
  return value;
}

/** A non-negative integer flag, or `fallback` when absent. */
export function intOption(
  command: string,
  name: string,
  text: string | undefined,
  fallback: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  // Number("") and Number(" ") are 0: a blank value is no number.
  if (text.trim() === "" || !Number.isSafeInteger(value) || value < 0) {
    throw new UsageError(
      `--${name} must be a non-negative integer, got ${JSON.stringify(text)}`,
      command,
    );
  }
  return value;
}

/** Parses `KEY=VALUE` pairs: JSON values when they parse, strings otherwise. */
export function parseParams(
  pairs: string[],
  command: string,
): Map<string, ParamValue> {
  const out = new Map<string, ParamValue>();
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(
        `--param ${JSON.stringify(pair)} is not KEY=VALUE`,
        command,
      );
    }
    const text = pair.slice(eq + 1);
    let value: ParamValue;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    out.set(pair.slice(0, eq), value);
  }
  return out;
}

/** Flags that describe a new run (`aim track`, `aim run`). */
export const RUN_OPTIONS = {
  experiment: { type: "string" },
  name: { type: "string" },
  description: { type: "string" },
  tag: { type: "string", multiple: true },
  param: { type: "string", multiple: true },
} as const satisfies Options;

/**
 * Opens the repository (`--repo`) and starts a run described by the
 * {@linkcode RUN_OPTIONS} flags, with its `--param`s set. A bad `--param`
 * is a usage error before anything is opened or created.
 */
export async function startRunFromFlags(
  command: string,
  values: {
    repo?: string;
    experiment?: string;
    name?: string;
    description?: string;
    tag?: string[];
    param?: string[];
  },
  options: Pick<StartRunOptions, "handleSignals"> & {
    /** Create the repository when there is none (see {@linkcode openOrCreateRepo}). */
    create?: boolean;
  } = {},
): Promise<{ repo: Repo; run: Run }> {
  const params = parseParams(values.param ?? [], command);
  for (const tag of values.tag ?? []) {
    if (tag.trim() === "") {
      throw new UsageError("--tag must not be empty", command);
    }
  }
  const { create = false, ...startOptions } = options;
  const repo = create
    ? openOrCreateRepo(values.repo)
    : Repo.openSync(values.repo);
  try {
    const run = await repo.startRun({
      ...(values.experiment !== undefined
        ? { experiment: values.experiment }
        : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.description !== undefined
        ? { description: values.description }
        : {}),
      tags: values.tag ?? [],
      ...startOptions,
    });
    for (const [key, value] of params) run.set(key, value);
    return { repo, run };
  } catch (error) {
    repo.close();
    throw error;
  }
}

/**
 * Opens the repository, creating it when there is none, as Aim's SDK does
 * for a new run: `given` (`--repo`) or `$AIM_REPO` is created when missing;
 * without either, the nearest `.aim` upward is used, and `./.aim` is
 * created when there is none. Says on stderr when it creates one.
 */
export function openOrCreateRepo(given: string | undefined): Repo {
  const explicit = given ?? (Deno.env.get("AIM_REPO") || undefined);
  if (explicit === undefined) {
    try {
      return Repo.openSync();
    } catch (error) {
      if (!(error instanceof AimError) || error.code !== "repo_not_found") {
        throw error;
      }
    }
  }
  const { path, created } = initRepo(explicit ?? ".");
  if (created) console.error(`aim: created a repository in ${path}`);
  return Repo.openSync(path);
}

/**
 * Warns on stderr about each param that the query, the sort or the column
 * expressions name and no run has (a typo such as `run.hparms.lr`, which
 * is None in every run), with the closest names. Changes no answer.
 */
export function warnUnknownNames(
  repo: Repo,
  q: string,
  sort: string | undefined,
  columns: readonly string[] = [],
): void {
  for (const warning of checkNames(repo, { q, sort: sort ?? "", columns })) {
    const where = warning.field === "q" ? "--query" : `--${warning.field}`;
    console.error(`warning: ${where}: ${warning.message}`);
  }
}

/** Tells on stderr when the index could not be opened, so searches read every run file. */
export function warnIfNoIndex(repo: Repo): void {
  const index = repo.index();
  if (index.empty) {
    console.error(
      `warning: the index cannot be read (${index.readOnlyBecause}): every run is read from its own files, which is slower`,
    );
  }
}
