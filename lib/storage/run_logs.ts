/**
 * Reading a run's log in time order. Lines are stored in the order they
 * arrive (`seq`), which is not the order they were written in: `aim run`
 * times its child's output as it reads it, while a client's log line
 * carries the time it was written and arrives with the client's next
 * buffer, after output written later. Readers therefore order lines by
 * (time, seq), number them in that order, and page them by position, by
 * their neighbours (which keeps its place while the log grows), or by what
 * was stored since a line (what a follower of a live run has not seen).
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { badRequest } from "../errors.ts";

/** One line of a run's log. */
export interface LogLine {
  /** Its number in the order lines were stored, from 1: stable while the log grows. */
  seq: number;
  /**
   * Its number in time order, from 1 (absent from a `since` read). Lines
   * of a live run may still arrive with an earlier time, and move the
   * lines after them down by one.
   */
  line?: number;
  /** When it was written, in seconds since the epoch. */
  time: number;
  /** `stdout`, `stderr`, `info`, `warning`, `error`, or what a client chose. */
  level: string;
  /** The text as logged; terminal output comes one line each, without its newline. */
  text: string;
}

/** Which lines to read; at most one of `offset`, `before`, `after` and `since`. */
export interface LogQuery {
  /**
   * Position of the first line in time order, from 0 (default); a negative
   * offset counts from the end (-100: the last 100 lines). With
   * `contains`, a position among the matching lines.
   */
  offset?: number;
  /** Most lines returned (the caller bounds it). */
  limit: number;
  /** The `limit` lines just before line `before` (a `seq`) in time order. */
  before?: number;
  /** The `limit` lines just after line `after` (a `seq`) in time order. */
  after?: number;
  /**
   * The first `limit` lines stored after line `since` (a `seq`), in the
   * order they were stored, without `line` numbers: what a reader that
   * has seen up to `since` has not seen, wherever they fall in time.
   */
  since?: number;
  /**
   * Only lines whose text contains this, ignoring the case of ASCII
   * letters (with `offset` only).
   */
  contains?: string;
}

/** A page of a run's log. */
export interface LogPage {
  /** In time order, except for a `since` read (stored order). */
  lines: LogLine[];
  /** Lines in the log. */
  total: number;
  /** The `seq` of the last line stored (0 for none): `since` for the next read. */
  last_seq: number;
  /** With `contains`: how many lines match. */
  matches?: number;
}

type Row = Record<string, unknown>;

/**
 * Reads a page of the log of an open run file, in one transaction of the
 * caller's. `before` and `after` name a line that must exist: `AimError`
 * `bad_request` otherwise.
 */
export function readLogPage(db: DatabaseSync, query: LogQuery): LogPage {
  const total = Number(
    (db.prepare("SELECT count(*) AS n FROM logs").get() as Row).n,
  );
  const lastSeq = Number(
    (db.prepare("SELECT max(seq) AS s FROM logs").get() as Row).s ?? 0,
  );
  const page = { total, last_seq: lastSeq };
  const { limit } = query;
  if (query.since !== undefined) {
    const lines = db.prepare(
      "SELECT seq, time, level, text FROM logs WHERE seq > ? ORDER BY seq LIMIT ?",
    ).all(query.since, limit).map((row) => _line(row));
    return { lines, ...page };
  }
  if (query.before !== undefined) {
    return {
      lines: _around(db, query.before, limit, "before", lastSeq),
      ...page,
    };
  }
  if (query.after !== undefined) {
    return {
      lines: _around(db, query.after, limit, "after", lastSeq),
      ...page,
    };
  }
  const offset = query.offset ?? 0;
  if (query.contains !== undefined) {
    const { lines, matches } = _search(db, query.contains, offset, limit);
    return { lines, ...page, matches };
  }
  const start = offset < 0 ? Math.max(0, total + offset) : offset;
  const rows = db.prepare(
    "SELECT seq, time, level, text FROM logs ORDER BY time, seq LIMIT ? OFFSET ?",
  ).all(limit, start);
  return { lines: rows.map((row, i) => _line(row, start + 1 + i)), ...page };
}

/** The `limit` lines just before or after line `seq` in time order, numbered. */
function _around(
  db: DatabaseSync,
  seq: number,
  limit: number,
  side: "before" | "after",
  lastSeq: number,
): LogLine[] {
  const found = db.prepare("SELECT time FROM logs WHERE seq = ?").get(seq);
  if (found === undefined) {
    throw badRequest(
      `the run's log has no line ${seq}: ${
        lastSeq === 0
          ? "it is empty"
          : `its lines are numbered (seq) from 1 to ${lastSeq}`
      }`,
    );
  }
  const time = Number(found.time);
  // Lines before it in (time, seq) order: its own number is one more.
  const ahead = _countBefore(db, time, seq);
  if (side === "before") {
    const rows = db.prepare(
      `SELECT seq, time, level, text FROM logs
       WHERE time <= ?1 AND (time < ?1 OR seq < ?2)
       ORDER BY time DESC, seq DESC LIMIT ?3`,
    ).all(time, seq, limit).reverse();
    const first = ahead - rows.length + 1;
    return rows.map((row, i) => _line(row, first + i));
  }
  const rows = db.prepare(
    `SELECT seq, time, level, text FROM logs
     WHERE time >= ?1 AND (time > ?1 OR seq > ?2)
     ORDER BY time, seq LIMIT ?3`,
  ).all(time, seq, limit);
  return rows.map((row, i) => _line(row, ahead + 2 + i));
}

/**
 * The matches of `text` from match `offset` (negative: from the last), at
 * most `limit`, each numbered by its place among all lines; and how many
 * there are.
 */
function _search(
  db: DatabaseSync,
  text: string,
  offset: number,
  limit: number,
): { lines: LogLine[]; matches: number } {
  const pattern = `%${text.replace(/[\\%_]/g, "\\$&")}%`;
  const matches = Number(
    (db.prepare(
      "SELECT count(*) AS n FROM logs WHERE text LIKE ? ESCAPE '\\'",
    ).get(pattern) as Row).n,
  );
  const start = offset < 0 ? Math.max(0, matches + offset) : offset;
  if (!_hasTimeIndex(db)) {
    // A file written before logs_time: number every line in one sorted
    // pass (counting ranges would scan the table once per match).
    const rows = db.prepare(
      `SELECT seq, time, level, text, line FROM (
         SELECT seq, time, level, text,
                row_number() OVER (ORDER BY time, seq) AS line
         FROM logs)
       WHERE text LIKE ? ESCAPE '\\' ORDER BY line LIMIT ? OFFSET ?`,
    ).all(pattern, limit, start);
    return { lines: rows.map((row) => _line(row, Number(row.line))), matches };
  }
  const rows = db.prepare(
    `SELECT seq, time, level, text FROM logs WHERE text LIKE ? ESCAPE '\\'
     ORDER BY time, seq LIMIT ? OFFSET ?`,
  ).all(pattern, limit, start);
  // Each match's number from the previous one's, counting the index
  // between them: one pass over the index up to the last match.
  const tie = db.prepare(
    "SELECT count(*) AS n FROM logs WHERE time = ? AND seq < ?",
  );
  const between = db.prepare(
    "SELECT count(*) AS n FROM logs WHERE time >= ? AND time < ?",
  );
  const count = (statement: typeof tie, ...args: number[]) =>
    Number((statement.get(...args) as Row).n);
  let before = 0;
  let previous: { time: number; seq: number } | null = null;
  const lines = rows.map((row) => {
    const time = Number(row.time), seq = Number(row.seq);
    before = previous === null
      ? _countBefore(db, time, seq)
      : before + count(between, previous.time, time) +
        count(tie, time, seq) - count(tie, previous.time, previous.seq);
    previous = { time, seq };
    return _line(row, before + 1);
  });
  return { lines, matches };
}

/** Lines before (time, seq) in time order. */
function _countBefore(db: DatabaseSync, time: number, seq: number): number {
  // Two ranges of the (time) index rather than one OR, which would scan.
  const earlier = db.prepare("SELECT count(*) AS n FROM logs WHERE time < ?")
    .get(time) as Row;
  const tied = db.prepare(
    "SELECT count(*) AS n FROM logs WHERE time = ? AND seq < ?",
  ).get(time, seq) as Row;
  return Number(earlier.n) + Number(tied.n);
}

function _hasTimeIndex(db: DatabaseSync): boolean {
  return db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'logs_time'",
  ).get() !== undefined;
}

function _line(row: Row, line?: number): LogLine {
  return {
    seq: Number(row.seq),
    ...(line !== undefined ? { line } : {}),
    time: Number(row.time),
    level: String(row.level),
    text: String(row.text),
  };
}
