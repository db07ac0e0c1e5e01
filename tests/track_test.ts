import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempRepo } from "./_helpers.ts";

async function track(repoPath: string, input: string, args: string[] = []) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      join(ROOT, "main.ts"),
      "track",
      "--repo",
      repoPath,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

Deno.test("aim track records the protocol, Python's bare NaN and Infinity included, and finishes on close", async () => {
  await using repo = await tempRepo();
  const input = [
    '{"meta": {"name": "py", "experiment": "base"}}',
    '{"set": "hparams", "value": {"lr": 0.01, "bad": NaN}}',
    '{"tag": "best"}',
    '{"track": 0.5, "name": "loss", "step": 3, "epoch": 1, "context": {"subset": "train"}}',
    '{"track": NaN, "name": "loss", "context": {"subset": "train"}}',
    '{"track": "Infinity", "name": "loss", "context": {"subset": "train"}}',
    '{"track": -Infinity, "name": "note \\"NaN\\" in a string"}',
    '{"log": "hello"}',
    '{"close": true}',
  ].join("\n") + "\n";
  const out = await track(repo.path, input, [
    "--param",
    "seed=3",
    "--param",
    "opt=adam",
    "--param",
    "layers=[64,64]",
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stderr, "");
  const hash = out.stdout.trim();
  const record = repo.index().get(hash)!;
  assert.equal(record.status, "finished");
  assert.deepEqual([record.name, record.experiment, record.tags], [
    "py",
    "base",
    ["best"],
  ]);
  assert.equal((record.params.hparams as Record<string, number>).lr, 0.01);
  assert.ok(
    Number.isNaN((record.params.hparams as Record<string, number>).bad),
  );
  assert.deepEqual([
    record.params.seed,
    record.params.opt,
    record.params.layers,
  ], [3, "adam", [64, 64]]);
  const loss = record.metrics.find((m) => m.name === "loss")!;
  assert.deepEqual([
    loss.count,
    loss.first_step,
    loss.last_step,
    loss.last,
    loss.max,
  ], [3, 3, 5, Infinity, Infinity]);
  assert.equal(
    record.metrics.find((m) => m.name.startsWith("note"))!.last,
    -Infinity,
  );
});

Deno.test("aim track reports malformed lines, skips them, and marks a run without close as failed", async () => {
  await using repo = await tempRepo();
  const lines = ['{"track": 1, "name": "a"}'];
  for (let i = 0; i < 7; i++) {
    lines.push(i % 2 ? "not json" : '{"track": "abc", "name": "a"}');
  }
  lines.push('{"track": 2, "name": "a"}', '{"frobnicate": 1}');
  const out = await track(repo.path, lines.join("\n"));
  assert.equal(out.code, 1);
  assert.match(
    out.stderr,
    /warning: line 2: "track" must be a number, got "abc"/,
  );
  assert.match(out.stderr, /warning: line 3: not valid JSON/);
  assert.match(out.stderr, /8 malformed lines in all/);
  const record = repo.index().get(out.stdout.trim())!;
  assert.equal(record.status, "failed");
  assert.equal(
    record.metrics[0]!.count,
    2,
    "good lines around bad ones are kept",
  );
});

Deno.test("aim track ingests 100k lines", async () => {
  await using repo = await tempRepo();
  let input = "";
  for (let i = 0; i < 100_000; i++) {
    input += `{"track": ${i}, "name": "loss", "step": ${i}}\n`;
  }
  const out = await track(repo.path, input + '{"close": true}\n');
  assert.equal(out.code, 0, out.stderr);
  const loss = repo.index().get(out.stdout.trim())!.metrics[0]!;
  assert.deepEqual([loss.count, loss.last, loss.max, loss.min], [
    100_000,
    99_999,
    99_999,
    0,
  ]);
});
