/**
 * Tables for the terminal: aligned columns, and text made safe to print (a
 * run name holding an escape sequence must not drive the terminal).
 *
 * @module
 */

/**
 * `text` with control characters (C0, DEL, C1) shown as escapes
 * (`\x1b`, `\n`), so printing it cannot move the cursor, clear the screen
 * or change colours.
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex -- control characters are what this finds.
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    const named: Record<string, string> = {
      "\n": "\\n",
      "\r": "\\r",
      "\t": "\\t",
    };
    return named[c] ??
      `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** How a column's cells line up: numbers read best aligned on the right. */
export type Align = "left" | "right";

/**
 * Prints `rows` under `header` in aligned columns; every cell is made
 * printable. `align[i]` lines up column i (default left); `empty` is
 * printed when there is no row.
 */
export function printTable(
  header: string[],
  rows: string[][],
  empty = "(none)",
  align: readonly Align[] = [],
): void {
  const safe = rows.map((row) => row.map(printable));
  const widths = header.map((h, i) =>
    Math.max(h.length, ...safe.map((r) => r[i]!.length))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) =>
      align[i] === "right" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)
    ).join("  ").trimEnd();
  console.log(line(header));
  for (const row of safe) console.log(line(row));
  if (rows.length === 0) console.log(empty);
}

/** Whether every cell of a column is a number as `formatNumber` writes it, or "-". */
export function isNumeric(cells: readonly string[]): boolean {
  return cells.every((cell) =>
    cell === "-" || /^-?(\d[\d.]*(e[+-]?\d+)?|inf|NaN)$/.test(cell)
  );
}
