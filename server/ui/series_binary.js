/// <reference lib="dom" />
// @ts-check
// Reads the binary form of a series search answer (server/series_binary.ts):
// a uint32 header length, the JSON header, padding to 8 bytes, then float64
// columns. Each series' `data.columns` (column → byte offset) becomes its
// point arrays, as Float64Arrays over the answer's bytes (no copy).

/** @import { BinarySeriesPage } from "./api_types.js" */

/**
 * Decodes a binary series answer; the point arrays are Float64Arrays (an
 * untracked epoch is NaN).
 * @param {ArrayBuffer} buffer
 * @returns {BinarySeriesPage}
 */
export function decodeSeriesAnswer(buffer) {
  if (buffer.byteLength < 4) {
    throw new Error(
      `A binary series answer needs at least 4 bytes, got ${buffer.byteLength}`,
    );
  }
  const length = new DataView(buffer).getUint32(0, true);
  if (4 + length > buffer.byteLength) {
    throw new Error(
      `A binary series answer's header of ${length} bytes ends past its ${buffer.byteLength} bytes`,
    );
  }
  const header = JSON.parse(
    new TextDecoder().decode(new Uint8Array(buffer, 4, length)),
  );
  const start = Math.ceil((4 + length) / 8) * 8;
  for (const match of header.series) {
    const data = match.data;
    if (data === null) continue;
    for (const [name, offset] of Object.entries(data.columns)) {
      if (start + offset + data.n * 8 > buffer.byteLength) {
        throw new Error(
          `A binary series answer's column ${name} ends past its ${buffer.byteLength} bytes`,
        );
      }
      data[name] = new Float64Array(buffer, start + offset, data.n);
    }
    delete data.columns;
  }
  return /** @type {BinarySeriesPage} */ (header);
}
