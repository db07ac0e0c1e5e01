import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { fc } from "./_dev_deps.ts";
import { AimError, type LogLine, readLogs, type Repo } from "../lib/mod.ts";
import { tempRepo } from "./_helpers.ts";

/** A line as written: its text, level and time; stored in this order. */
interface Written {
  text: string;
  level: string;
  time: number;
}

/** A finished run whose log holds `lines`, stored in the order given. */
async function runWithLog(repo: Repo, lines: Written[]): Promise<string> {
  const run = await repo.startRun({ handleSignals: false });
  for (const line of lines) run.log(line.text, line.level, line.time);
  await run.close();
  return run.hash;
}

/** What every read must agree with: the lines sorted by (time, seq), numbered. */
function reference(lines: Written[]): Required<LogLine>[] {
  return lines.map((line, i) => ({ seq: i + 1, line: 0, ...line }))
    .sort((a, b) => a.time - b.time || a.seq - b.seq)
    .map((line, i) => ({ ...line, line: i + 1 }));
}

function dropTimeIndex(repo: Repo, hash: string): void {
  const db = new DatabaseSync(repo.runFile(hash));
  try {
    db.exec("DROP INDEX logs_time");
  } finally {
    db.close();
  }
}

const written = fc.array(
  fc.record({
    // Few distinct times: many ties, broken by the order of storage.
    time: fc.integer({ min: 0, max: 20 }).map((t) => 1_700_000_000 + t / 4),
    level: fc.constantFrom("stdout", "stderr", "info"),
    text: fc.constantFrom("epoch done", "Loss is NaN", "50% done", "a_b", ""),
  }),
  { maxLength: 60 },
);

Deno.test("readLogs() orders lines by time then storage, and every way of paging agrees with that order, with or without the time index", async () => {
  await using repo = await tempRepo();
  await fc.assert(
    fc.asyncProperty(
      written,
      fc.integer({ min: -70, max: 70 }),
      fc.integer({ min: 0, max: 12 }),
      fc.constantFrom("nan", "%", "_", "DONE", "x"),
      fc.boolean(),
      async (lines, offset, limit, needle, old) => {
        const hash = await runWithLog(repo, lines);
        if (old) dropTimeIndex(repo, hash);
        const all = reference(lines);
        const page = readLogs(repo, hash, { offset, limit });
        const start = offset < 0 ? Math.max(0, all.length + offset) : offset;
        assert.deepEqual(page.lines, all.slice(start, start + limit));
        assert.equal(page.total, lines.length);
        assert.equal(page.last_seq, lines.length);

        const found = all.filter((l) =>
          l.text.toLowerCase().includes(needle.toLowerCase())
        );
        const search = readLogs(repo, hash, { contains: needle, limit });
        assert.deepEqual(search.lines, found.slice(0, limit), needle);
        assert.equal(search.matches, found.length);

        for (const seq of [1, Math.ceil(lines.length / 2), lines.length]) {
          if (seq < 1 || seq > lines.length) continue;
          const at = all.findIndex((l) => l.seq === seq);
          assert.deepEqual(
            readLogs(repo, hash, { before: seq, limit }).lines,
            all.slice(Math.max(0, at - limit), at),
          );
          assert.deepEqual(
            readLogs(repo, hash, { after: seq, limit }).lines,
            all.slice(at + 1, at + 1 + limit),
          );
          assert.deepEqual(
            readLogs(repo, hash, { since: seq - 1, limit }).lines,
            all.filter((l) => l.seq >= seq).sort((a, b) => a.seq - b.seq)
              .slice(0, limit).map(({ line: _, ...rest }) => rest),
          );
        }
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("readLogs() refuses two ways of paging at once, a line that does not exist, and a search with before", async () => {
  await using repo = await tempRepo();
  const hash = await runWithLog(repo, [
    { text: "a", level: "stdout", time: 1_700_000_000 },
  ]);
  const refused = (query: Parameters<typeof readLogs>[2], pattern: RegExp) =>
    assert.throws(
      () => readLogs(repo, hash, query),
      (error) =>
        error instanceof AimError && error.code === "bad_request" &&
        pattern.test(error.message),
    );
  refused(
    { offset: 0, since: 1 },
    /give one of offset, before, after and since, not offset and since/,
  );
  refused({ before: 7 }, /has no line 7: .* from 1 to 1/);
  refused({ contains: "a", before: 1 }, /pages its matches with offset/);
  refused({ limit: 100_001 }, /limit must be an integer from 0 to 100000/);
  refused({ contains: "x".repeat(1001) }, /at most 1000 characters/);
});
