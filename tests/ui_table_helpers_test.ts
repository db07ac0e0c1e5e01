import assert from "node:assert/strict";
import {
  fmtCommand,
  fmtParam,
  fmtValue,
  isCommand,
} from "../server/ui/format.js";
import { defaultColumns, emptyKnown, learn } from "../server/ui/runs_model.js";
import type { Run } from "../server/ui/api_types.js";

Deno.test("fmtValue() shows param numbers as written: no thousands separators, long floats shortened", () => {
  assert.equal(fmtValue(5828), "5828");
  assert.equal(fmtValue(1234567), "1234567");
  assert.equal(fmtValue(-12000), "-12000");
  assert.equal(fmtValue(0.0005), "0.0005");
  assert.equal(fmtValue(1e-8), "1e-8");
  assert.equal(fmtValue(0.1 + 0.2), "0.3");
  assert.equal(fmtValue("NaN"), "NaN");
  assert.equal(fmtValue("-Infinity"), "-Infinity");
});

Deno.test("fmtCommand() gives a command line a shell takes back; fmtParam() uses it for commands only", () => {
  assert.equal(
    fmtCommand([
      "python3",
      "train.py",
      "--name",
      "my run",
      "--x=1,2",
      "it's",
      "",
    ]),
    `python3 train.py --name 'my run' --x=1,2 'it'"'"'s' ''`,
  );
  assert.equal(isCommand(["__aim", "command"], ["a", "b"]), true);
  assert.equal(isCommand(["hparams", "layers"], ["a", "b"]), false);
  assert.equal(isCommand(["__aim", "command"], [1, 2]), false);
  assert.equal(fmtParam(["__aim", "command"], ["ls", "-l"]), "ls -l");
  assert.equal(fmtParam(["hparams", "layers"], [64, 64]), "[64,64]");
});

Deno.test("defaultColumns() never picks what aim run records of the launch, but its command", () => {
  const known = emptyKnown();
  const run = (params: Record<string, unknown>) =>
    ({ params, metrics: [] }) as unknown as Run;
  learn(known, [
    run({
      __aim: { command: ["python", "t.py"], cwd: "/x", host: "h", pid: 1 },
      data: { path: "/d" },
      hparams: { lr: 0.1 },
    }),
  ]);
  assert.deepEqual(defaultColumns(known).params, [
    ["hparams", "lr"],
    ["data", "path"],
    ["__aim", "command"],
  ]);
});
