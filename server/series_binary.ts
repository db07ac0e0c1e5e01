/**
 * The binary form of a series search answer (`"encoding": "binary"`): what
 * a chart of hundreds of lines at pixel resolution needs without parsing
 * millions of numbers out of JSON text.
 *
 * Layout (little-endian): a uint32 with the byte length of a UTF-8 JSON
 * header; the header; zero bytes up to a multiple of 8; then the columns,
 * each a run of float64. The header is the JSON answer with every series'
 * point arrays taken out: in their place `data.n` (points) and
 * `data.columns`, which maps each column present (`steps`, `values`,
 * `epochs`, `times`) to its byte offset from the start of the columns. An
 * epoch that was not tracked is NaN here (null in JSON); NaN and ±Infinity
 * values are themselves.
 *
 * @module
 */

/** Point columns a series answer may carry. */
export const SERIES_COLUMNS = ["steps", "values", "epochs", "times"] as const;

/** A point column's name. */
export type SeriesColumn = typeof SERIES_COLUMNS[number];

/** The answer as the query Worker builds it, before it is encoded. */
export interface SeriesAnswer {
  series: {
    run: unknown;
    series: unknown;
    data: Record<string, unknown> | null;
    error: string | null;
  }[];
  total: number;
  unreadable: unknown[];
}

/**
 * Encodes `answer`, keeping only the point columns in `columns` (a column
 * a series lacks, such as a preview's `times`, is left out of its header).
 */
export function encodeSeriesAnswer(
  answer: SeriesAnswer,
  columns: readonly SeriesColumn[],
): Uint8Array {
  const arrays: ArrayLike<number | null>[] = [];
  let offset = 0;
  const series = answer.series.map((match) => {
    if (match.data === null) return match;
    const data: Record<string, unknown> = {};
    const placed: Record<string, number> = {};
    let n = 0;
    for (const [key, value] of Object.entries(match.data)) {
      if ((SERIES_COLUMNS as readonly string[]).includes(key)) {
        const column = value as (number | null)[];
        n = column.length;
        if (!columns.includes(key as SeriesColumn)) continue;
        placed[key] = offset;
        arrays.push(column);
        offset += column.length * 8;
      } else {
        data[key] = value;
      }
    }
    return { ...match, data: { ...data, n, columns: placed } };
  });
  const header = new TextEncoder().encode(
    JSON.stringify(
      { ...answer, series },
      (_key, item) =>
        typeof item === "number" && !Number.isFinite(item)
          ? String(item)
          : item,
    ),
  );
  const start = Math.ceil((4 + header.length) / 8) * 8;
  const bytes = new Uint8Array(start + offset);
  new DataView(bytes.buffer).setUint32(0, header.length, true);
  bytes.set(header, 4);
  const floats = new Float64Array(bytes.buffer, start, offset / 8);
  let at = 0;
  for (const column of arrays) {
    for (let i = 0; i < column.length; i++) floats[at++] = column[i] ?? NaN;
  }
  return bytes;
}
