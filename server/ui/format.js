// @ts-check
// Numbers, times, durations, sizes and contexts as the pages show them.
// Pure: no DOM, so `deno test` imports it.

/** @import { Context } from "./api_types.js" */

/**
 * A number as the API sends it (non-finite values arrive as strings), or
 * null for anything else.
 * @param {unknown} value
 * @returns {number | null}
 */
export function num(value) {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return null;
}

/**
 * A number for a table cell: short, with significant digits kept. Not a
 * number: its text, or "" for null and undefined.
 * @param {unknown} value
 * @returns {string}
 */
export function fmtNum(value) {
  const n = num(value);
  if (n === null) {
    return value === null || value === undefined ? "" : String(value);
  }
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e15) {
    return n.toLocaleString("en-US");
  }
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return n.toExponential(3);
  return String(Number(n.toPrecision(5)));
}

/**
 * Any parameter value for display, in Python's spelling (None, True).
 * Numbers read as written, without thousands separators: a param's digits
 * are as often an id or a seed (5828) as a quantity; only a long float is
 * shortened (to five significant digits).
 * @param {unknown} value
 * @returns {string}
 */
export function fmtValue(value) {
  if (value === null || value === undefined) {
    return value === null ? "None" : "";
  }
  const n = num(value);
  if (n !== null) {
    const text = String(n);
    return text.length <= 12 || !Number.isFinite(n) ? text : fmtNum(n);
  }
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/**
 * A command (a list of its arguments) as a shell would take it back:
 * arguments with spaces or quotes are quoted, as Python's `shlex.join` does.
 * @param {readonly string[]} args
 * @returns {string}
 */
export function fmtCommand(args) {
  return args.map(shellWord).join(" ");
}

/**
 * One argument for a shell: as it is when it is plain, else single-quoted.
 * @param {string} arg
 * @returns {string}
 */
export function shellWord(arg) {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Whether a param holds a command line: a list of strings under a key
 * named command or argv (as `__aim.command`, which `aim run` records).
 * @param {readonly string[]} path
 * @param {unknown} value
 * @returns {value is string[]}
 */
export function isCommand(path, value) {
  const key = path[path.length - 1];
  return (key === "command" || key === "argv") && Array.isArray(value) &&
    value.every((arg) => typeof arg === "string");
}

/**
 * A param at `path` for a table cell: a command line as a shell line,
 * anything else as {@link fmtValue} shows it.
 * @param {readonly string[]} path
 * @param {unknown} value
 * @returns {string}
 */
export function fmtParam(path, value) {
  return isCommand(path, value) ? fmtCommand(value) : fmtValue(value);
}

/**
 * Seconds as "1h 02m", "3m 05s", "12.3s", "2d 3h"; "" when not a finite number.
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return "";
  }
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** @param {number} n */
const pad2 = (n) => String(n).padStart(2, "0");

/**
 * An ISO time as local "2026-11-25 20:55:38"; "" for none.
 * @param {string | null | undefined} iso
 * @returns {string}
 */
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${
    fmtClock(d.getTime() / 1000)
  }`;
}

/**
 * Seconds since the epoch as the local time of day, "20:55:38".
 * @param {number} seconds
 * @returns {string}
 */
export function fmtClock(seconds) {
  const d = new Date(seconds * 1000);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${
    pad2(d.getSeconds())
  }`;
}

/**
 * Seconds since the epoch of an ISO time; null for none.
 * @param {string | null | undefined} iso
 * @returns {number | null}
 */
export function epochSeconds(iso) {
  return iso ? Date.parse(iso) / 1000 : null;
}

/**
 * A context as short text: `subset=train, gpu=0`, or `{}` for none.
 * @param {Context | null | undefined} context
 * @returns {string}
 */
export function fmtContext(context) {
  const entries = Object.entries(context ?? {});
  if (entries.length === 0) return "{}";
  return entries.map(([k, v]) =>
    `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
  )
    .join(", ");
}

/**
 * A context given by its canonical JSON key as short text; the key itself
 * when it is not JSON.
 * @param {string} key
 * @returns {string}
 */
export function fmtContextKey(key) {
  try {
    return fmtContext(JSON.parse(key));
  } catch {
    return key;
  }
}

/**
 * A size in bytes: "512 B", "1.5 KiB", "12 MiB".
 * @param {number} n
 * @returns {string}
 */
export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024, i = 0;
  while (value >= 1024 && i < units.length - 1) value /= 1024, i++;
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[i]}`;
}
