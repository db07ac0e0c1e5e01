import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import { before, LogWindow } from "../server/ui/log_window.js";
import { INTEGER_INCRS, SECOND_INCRS, unitOf } from "../server/ui/units.js";
import type { LogLine, LogPage } from "../server/ui/api_types.js";

/** The server's side, as lib/storage/run_logs.ts answers: a log that grows. */
class FakeLog {
  stored: LogLine[] = [];

  add(time: number, text = "") {
    this.stored.push({
      seq: this.stored.length + 1,
      time,
      level: "stdout",
      text,
    });
  }

  sorted(): LogLine[] {
    return this.stored.slice().sort((a, b) =>
      before(a, b) ? -1 : before(b, a) ? 1 : 0
    ).map((line, i) => ({ ...line, line: i + 1 }));
  }

  page(lines: LogLine[]): LogPage {
    return { lines, total: this.stored.length, last_seq: this.stored.length };
  }

  tail(limit: number): LogPage {
    const all = this.sorted();
    return this.page(all.slice(Math.max(0, all.length - limit)));
  }

  since(seq: number): LogPage {
    return this.page(this.stored.filter((line) => line.seq > seq));
  }

  before(seq: number, limit: number): LogPage {
    const all = this.sorted();
    const at = all.findIndex((line) => line.seq === seq);
    return this.page(all.slice(Math.max(0, at - limit), at));
  }

  after(seq: number, limit: number): LogPage {
    const all = this.sorted();
    const at = all.findIndex((line) => line.seq === seq);
    return this.page(all.slice(at + 1, at + 1 + limit));
  }
}

/** The window holds a contiguous stretch of the log, numbered as the log numbers it. */
function assertTrue(window: LogWindow, log: FakeLog, where: string) {
  const all = log.sorted();
  const first = window.lines[0];
  if (first === undefined) return;
  const at = all.findIndex((line) => line.seq === first.seq);
  assert.equal(window.first, at + 1, `${where}: the first line's number`);
  assert.deepEqual(
    window.lines.map((line) => line.seq),
    all.slice(at, at + window.lines.length).map((line) => line.seq),
    `${where}: the lines, in order, none missing`,
  );
  if (window.atEnd) {
    assert.equal(at + window.lines.length, all.length, `${where}: at the end`);
  }
}

Deno.test("LogWindow keeps a growing log's lines in time order and numbered, whatever order they arrive in and whichever way it is extended", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          // Lines stored: most in time, some late by up to `late` seconds.
          fc.record({
            kind: fc.constant("write" as const),
            count: fc.integer({ min: 1, max: 6 }),
            late: fc.integer({ min: 0, max: 8 }),
          }),
          fc.record({ kind: fc.constant("follow" as const) }),
          fc.record({
            kind: fc.constantFrom("earlier" as const, "later" as const),
            limit: fc.integer({ min: 1, max: 5 }),
          }),
          fc.record({
            kind: fc.constant("trim" as const),
            max: fc.integer({ min: 1, max: 10 }),
          }),
        ),
        { maxLength: 40 },
      ),
      fc.integer({ min: 1, max: 8 }),
      fc.boolean(),
      (steps, tail, grow) => {
        const log = new FakeLog();
        let clock = 0;
        for (let i = 0; i < 10; i++) log.add(clock++);
        const window = new LogWindow();
        window.reset(log.tail(tail));
        assertTrue(window, log, "the tail");
        for (const step of steps) {
          if (step.kind === "write") {
            for (let i = 0; i < step.count; i++) {
              log.add(clock - (i === 0 ? step.late : 0));
              clock++;
            }
          } else if (step.kind === "follow") {
            window.merge(log.since(window.lastSeq), grow);
            assertTrue(window, log, "after a follow");
          } else if (step.kind === "earlier" && window.lines[0]) {
            window.prepend(log.before(window.lines[0].seq, step.limit));
            window.merge(log.since(window.lastSeq), grow);
            assertTrue(window, log, "after reading earlier lines");
          } else if (step.kind === "later" && window.lines.length > 0) {
            const last = window.lines[window.lines.length - 1]!;
            window.append(log.after(last.seq, step.limit), step.limit);
            window.merge(log.since(window.lastSeq), grow);
            assertTrue(window, log, "after reading later lines");
          } else if (step.kind === "trim") {
            window.trim(step.max);
            assert.ok(window.lines.length <= step.max);
          }
        }
        window.merge(log.since(window.lastSeq), grow);
        assertTrue(window, log, "at the end");
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("LogWindow.merge() says where the lines it added went, and counts those before the stretch", () => {
  const log = new FakeLog();
  for (const time of [1, 2, 4, 5]) log.add(time);
  const window = new LogWindow();
  window.reset(log.tail(2));
  assert.deepEqual([window.first, window.atEnd], [3, true]);
  log.add(4.5, "late, inside");
  log.add(0.5, "late, before");
  log.add(6, "new, after");
  assert.deepEqual(window.merge(log.since(window.lastSeq), true), [1, 3]);
  assert.deepEqual(window.lines.map((l) => l.time), [4, 4.5, 5, 6]);
  assert.equal(window.first, 4);
  log.add(7);
  assert.deepEqual(window.merge(log.since(window.lastSeq), false), []);
  assert.equal(window.atEnd, false, "a line after it, not added");
});

Deno.test("unitOf() reads the unit in a series' name, and formats values and ticks on one scale", () => {
  const percent = unitOf("cpu_percent")!;
  assert.equal(percent.label, "%");
  assert.equal(percent.format(4.987), "4.99%");
  assert.equal(percent.format(55.56), "55.6%");
  assert.deepEqual(percent.axis([0, 25, 50], 25), ["0%", "25%", "50%"]);
  assert.deepEqual(percent.axis([3.25, 3.3], 0.05), ["3.25%", "3.30%"]);
  const memory = unitOf("rss_mb")!;
  assert.equal(memory.format(812.4), "812.4 MB");
  assert.equal(memory.format(1536), "1.5 GB");
  assert.equal(memory.format(3 * 1024 * 1024), "3 TB");
  // One scale for the whole axis, by its largest tick.
  assert.deepEqual(memory.axis([512, 1024, 1536], 512), [
    "0.5 GB",
    "1.0 GB",
    "1.5 GB",
  ]);
  assert.equal(unitOf("gpu_memory_mb")?.label, "MB");
  assert.equal(unitOf("host_memory_percent")?.label, "%");
  assert.equal(unitOf("disk_bytes")?.format(2048), "2 KB");
  const count = unitOf("processes")!;
  assert.equal(count.integer, true);
  assert.deepEqual(count.axis([1, 1.5, 2], 0.5), ["1", "", "2"]);
  assert.equal(unitOf("host_load"), null);
  assert.equal(unitOf("loss"), null);
});

Deno.test("INTEGER_INCRS are whole numbers, and SECOND_INCRS reach a year", () => {
  assert.ok(INTEGER_INCRS.every(Number.isInteger));
  assert.deepEqual(INTEGER_INCRS.slice(0, 4), [1, 2, 5, 10]);
  assert.ok(SECOND_INCRS.includes(60) && SECOND_INCRS.includes(3600));
  assert.equal(SECOND_INCRS.at(-1), 365 * 86400);
});
