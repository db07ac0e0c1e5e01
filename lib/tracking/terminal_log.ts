/**
 * A program's terminal output as log lines: what `aim run` keeps of its
 * child's stdout and stderr.
 *
 * @module
 */

/** Longest line kept in the run's log, in bytes; the rest of the line is counted, not kept. */
export const MAX_LOG_LINE = 64 * 1024;

/**
 * Splits a child's output into log lines with bounded memory, the way a
 * terminal shows it: a line is cut at {@linkcode MAX_LOG_LINE} bytes (the
 * rest is counted), and a carriage return inside a line starts it over, so a
 * progress bar leaves its last state rather than every redraw. Bytes that are
 * not UTF-8 become U+FFFD.
 *
 * @example A progress bar leaves its last state
 * ```ts
 * import { TerminalLog } from "./terminal_log.ts";
 *
 * const lines: string[] = [];
 * const output = new TerminalLog((text) => lines.push(text));
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * output.push(bytes("epoch 1\nprogress 10%\rprogress 5"));
 * output.push(bytes("0%\rprogress 100%\ndone"));
 * output.end();
 * console.log(lines); // ["epoch 1", "progress 100%", "done"]
 * ```
 */
export class TerminalLog {
  #onLine: (text: string, time: number) => void;
  #parts: Uint8Array[] = [];
  #size = 0;
  #cut = 0;
  /** A carriage return ended the last chunk: the next visible byte starts the line over. */
  #pendingReturn = false;
  #decoder = new TextDecoder();

  /** `onLine` gets each line without its newline, and the time (s) its end arrived. */
  constructor(onLine: (text: string, time: number) => void) {
    this.#onLine = onLine;
  }

  /** Takes one chunk of output, as it arrived. */
  push(chunk: Uint8Array, time = Date.now() / 1000): void {
    let start = 0;
    while (start <= chunk.length) {
      const newline = chunk.indexOf(10, start);
      const stop = newline < 0 ? chunk.length : newline;
      if (stop > start) this.#append(chunk.subarray(start, stop));
      if (newline < 0) break;
      this.#emit(time);
      start = newline + 1;
    }
  }

  /** Ends the output: a last line without a newline is kept too. */
  end(time = Date.now() / 1000): void {
    if (this.#size > 0 || this.#cut > 0) this.#emit(time);
  }

  #append(bytes: Uint8Array) {
    const endsWithReturn = bytes[bytes.length - 1] === 13;
    if (endsWithReturn) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length === 0) {
      this.#pendingReturn ||= endsWithReturn;
      return;
    }
    const lastReturn = bytes.lastIndexOf(13);
    if (this.#pendingReturn || lastReturn >= 0) this.#reset();
    if (lastReturn >= 0) bytes = bytes.subarray(lastReturn + 1);
    this.#pendingReturn = endsWithReturn;
    const room = MAX_LOG_LINE - this.#size;
    if (room > 0) {
      const kept = bytes.length <= room ? bytes : bytes.subarray(0, room);
      // A copy: the chunk may be a view of a larger buffer that must not be kept alive.
      this.#parts.push(kept.slice());
      this.#size += kept.length;
    }
    this.#cut += Math.max(0, bytes.length - Math.max(room, 0));
  }

  #emit(time: number) {
    let bytes: Uint8Array;
    if (this.#parts.length === 1) bytes = this.#parts[0]!;
    else {
      bytes = new Uint8Array(this.#size);
      let offset = 0;
      for (const part of this.#parts) {
        bytes.set(part, offset);
        offset += part.length;
      }
    }
    let text = this.#decoder.decode(bytes);
    if (this.#cut > 0) text += ` … [${this.#cut} more bytes cut]`;
    this.#reset();
    this.#pendingReturn = false;
    this.#onLine(text, time);
  }

  #reset() {
    this.#parts = [];
    this.#size = 0;
    this.#cut = 0;
  }
}
