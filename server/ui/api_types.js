// @ts-check
// The JSON the pages read from the API, as server/app.ts and
// server/query_worker.ts send it (a run's shape is lib/run_list.ts
// runToJson). Types only: modules name them in `@import` comments, so the
// browser never requests this file (served all the same, like every file
// here), and it does nothing at run time.

/**
 * A number as the API sends it: NaN and ±Infinity arrive as strings.
 * @typedef {number | "NaN" | "Infinity" | "-Infinity"} JsonNumber
 */

/**
 * A parameter value: JSON, with non-finite numbers as {@link JsonNumber} strings.
 * @typedef {null | boolean | number | string | ParamList | ParamMap} ParamValue
 */
/** @typedef {ParamValue[]} ParamList */
/** @typedef {{ [key: string]: ParamValue }} ParamMap */

/**
 * A series context, `{}` when none: `{"subset": "train"}`.
 * @typedef {ParamMap} Context
 */

/** @typedef {"running" | "finished" | "failed" | "terminated" | "crashed"} RunStatus */

/**
 * One series of a run, summarised (a run's `metrics`).
 * @typedef {object} SeriesSummary
 * @property {string} name
 * @property {Context} context
 * @property {number} count  Points recorded.
 * @property {number | null} first_step  Null while empty.
 * @property {number | null} last_step
 * @property {JsonNumber} last
 * @property {JsonNumber} min
 * @property {JsonNumber} max
 */

/**
 * A run: GET /api/runs/:hash, and every listing.
 * @typedef {object} Run
 * @property {string} hash  Lower-case hex.
 * @property {string} name
 * @property {string} experiment
 * @property {string} description
 * @property {string[]} tags
 * @property {RunStatus} status
 * @property {string | null} signal  Signal name when terminated by one.
 * @property {number | null} exit_code
 * @property {boolean} live  Its writer is running.
 * @property {boolean} indexed  The index covers its latest data.
 * @property {boolean} archived
 * @property {string} created_at  ISO 8601.
 * @property {string | null} ended_at  ISO 8601; null while running.
 * @property {number} duration  Seconds, up to now while running.
 * @property {number} data_version
 * @property {ParamMap} params
 * @property {SeriesSummary[]} metrics
 * @property {import("./objects_api.js").SequenceSummary[]} [sequences]
 *   Its sequences of images, distributions and texts.
 */

/**
 * A run the search skipped as it could not read it.
 * @typedef {object} Unreadable
 * @property {string} hash
 * @property {string} reason
 */

/**
 * GET /api/runs: a page of runs and how many match.
 * @typedef {object} RunPage
 * @property {Run[]} runs
 * @property {number} total  Matches before paging.
 * @property {Unreadable[]} unreadable
 */

/**
 * Points of a series. A read from the run (GET /api/runs/:hash/series, or a
 * series search with a step range) has every field; an index preview (a
 * series search without a range) has `preview` and no epochs, times or total.
 * @typedef {object} SeriesPoints
 * @property {string} name
 * @property {Context} context
 * @property {number[]} steps
 * @property {JsonNumber[]} values
 * @property {(number | null)[]} [epochs]
 * @property {number[]} [times]  Seconds since the epoch.
 * @property {number} [total]  Points in the range before downsampling.
 * @property {true} [preview]
 * @property {Resolution} resolution  How the points were chosen.
 */

/**
 * A series' points in the binary form of a series search: the columns
 * asked for, as Float64Arrays (NaN for an untracked epoch).
 * @typedef {object} BinarySeriesPoints
 * @property {string} name
 * @property {Context} context
 * @property {number} n  Points returned.
 * @property {Float64Array} [steps]
 * @property {Float64Array} [values]
 * @property {Float64Array} [epochs]
 * @property {Float64Array} [times]  Seconds since the epoch.
 * @property {number} [total]  Points in the range before downsampling.
 * @property {true} [preview]
 * @property {Resolution} resolution  How the points were chosen.
 */

/**
 * One (run, series) of a binary series search.
 * @typedef {object} BinarySeriesMatch
 * @property {Run} run
 * @property {SeriesSummary} series
 * @property {BinarySeriesPoints | null} data
 * @property {string | null} error
 */

/**
 * POST /api/series/search with `"encoding": "binary"`, decoded.
 * @typedef {object} BinarySeriesPage
 * @property {BinarySeriesMatch[]} series
 * @property {number} total
 * @property {Unreadable[]} unreadable
 */

/**
 * How a series' points were chosen (lib/repo/reads.ts). `raw`: every point.
 * `buckets`: from each bucket of `width` steps (bucket k holds the steps
 * origin + k·width … origin + (k+1)·width − 1) its first, last, lowest and
 * highest point and its first NaN. `preview`: from each of the index
 * preview's coarse buckets, its lowest, highest and last point only.
 * @typedef {object} Resolution
 * @property {"raw" | "buckets" | "preview"} kind
 * @property {number} width
 * @property {number} origin
 */

/**
 * One (run, series) of a series search, with its points or why they are missing.
 * @typedef {object} SeriesMatch
 * @property {Run} run
 * @property {SeriesSummary} series
 * @property {SeriesPoints | null} data
 * @property {string | null} error
 */

/**
 * POST /api/series/search: a page of matching series.
 * @typedef {object} SeriesPage
 * @property {SeriesMatch[]} series
 * @property {number} total
 * @property {Unreadable[]} unreadable
 */

/**
 * One line of a run's log.
 * @typedef {object} LogLine
 * @property {number} seq  Its number in the order stored, from 1.
 * @property {number} [line]  Its number in time order, from 1 (not in a
 *   `since` read).
 * @property {number} time  Seconds since the epoch.
 * @property {string} level  `stdout`, `stderr`, `info`, `warning`, …
 * @property {string} text
 */

/**
 * GET /api/runs/:hash/logs: lines in time order, how many there are, and
 * the last stored.
 * @typedef {object} LogPage
 * @property {LogLine[]} lines
 * @property {number} total
 * @property {number} last_seq
 * @property {number} [matches]  With `contains`: the lines that match.
 */

/**
 * The repository's counts (lib/status.ts).
 * @typedef {object} RepoStatus
 * @property {string} repo
 * @property {string} fs_mode
 * @property {number} runs
 * @property {number} indexed
 * @property {number} unindexed_live
 * @property {number} unindexed_stalled
 * @property {number} index_bytes
 */

/**
 * A run the background indexer failed to index.
 * @typedef {object} IndexerFailure
 * @property {string} hash
 * @property {string} reason
 * @property {number} at  Seconds since the epoch.
 */

/**
 * The background indexer's report (server/messages.ts).
 * @typedef {object} IndexerState
 * @property {number} queue
 * @property {number} indexed
 * @property {number} crashed
 * @property {IndexerFailure[]} failures  Newest last.
 * @property {string | null} in_progress  The hash being indexed.
 * @property {number} longest_write_ms
 * @property {number | null} last_pass_at  Seconds since the epoch.
 * @property {number} restarts
 * @property {boolean} running
 */

/**
 * GET /api/index.
 * @typedef {object} IndexAnswer
 * @property {IndexerState | null} indexer  Null when aim up runs without one.
 * @property {RepoStatus} status
 */

/**
 * What is wrong with a query or a sort: GET /ui/check's answer, or an API error.
 * @typedef {object} QueryProblem
 * @property {"q" | "sort"} field
 * @property {string} code
 * @property {string} message
 * @property {number | null} [column]  1-based column of a syntax error.
 */

/**
 * A param that a query names and no run has: None in every run.
 * @typedef {object} QueryWarning
 * @property {"q" | "sort" | "columns"} field
 * @property {string} name  The param as an expression, e.g. run.hparms.lr.
 * @property {number} column  1-based column where the query names it.
 * @property {string} message
 * @property {string[]} suggestions  The closest existing names.
 */

/**
 * GET /ui/check.
 * @typedef {{ ok: true, warnings?: QueryWarning[] } | ({ ok: false } & QueryProblem)} CheckAnswer
 */

/**
 * The body of an error answer.
 * @typedef {object} ErrorBody
 * @property {{ code?: string, message?: string, column?: number }} [error]
 */

export {};
