/**
 * What the explorers of objects compute without the DOM
 * (server/ui/objects_model.js): grouping fields, groups, slider ranges,
 * heatmap colours and marked search matches.
 */

import assert from "node:assert/strict";
import {
  fieldValue,
  groupMatches,
  rampColor,
  splitMatches,
  stepRange,
} from "../server/ui/objects_model.js";

/** A search match as the API answers it, with only what these tests read. */
function match(
  hash: string,
  name: string,
  context: Record<string, unknown>,
  params: Record<string, unknown>,
  steps: [number | null, number | null],
) {
  return {
    run: {
      hash,
      name: `run-${hash}`,
      experiment: "base",
      params,
    },
    sequence: {
      kind: "images",
      name,
      context,
      count: 1,
      items: 1,
      first_step: steps[0],
      last_step: steps[1],
    },
    tail: null,
  } as unknown as Parameters<typeof fieldValue>[2];
}

const A = match("aa", "samples", { subset: "val" }, { hparams: { lr: 0.1 } }, [
  0,
  9,
]);
const B = match("bb", "samples", { subset: "train" }, {
  hparams: { lr: 0.01 },
}, [5, 20]);
const C = match("aa", "inputs", {}, { hparams: { lr: 0.1 } }, [null, null]);

Deno.test("fieldValue() reads run attributes, params and the sequence's name and context as queries name them", () => {
  assert.equal(fieldValue("run.experiment", "images", A), "base");
  assert.equal(fieldValue("run.hparams.lr", "images", A), 0.1);
  assert.equal(fieldValue("images.name", "images", A), "samples");
  assert.equal(fieldValue("images.context.subset", "images", B), "train");
  assert.equal(fieldValue("images.context.subset", "images", C), undefined);
  assert.equal(fieldValue("run.hparams.lr.x", "images", A), undefined);
  // Another kind's field is no field of an image sequence.
  assert.equal(fieldValue("texts.name", "images", A), undefined);
});

Deno.test("groupMatches() groups by run or by a field, in order of first appearance, None for a missing value", () => {
  assert.deepEqual(
    groupMatches([A, B, C], "run", "images").map((g) => [
      g.title,
      g.matches.map((m) => m.sequence.name),
    ]),
    [["run-aa", ["samples", "inputs"]], ["run-bb", ["samples"]]],
  );
  assert.deepEqual(
    groupMatches([A, B, C], "images.context.subset", "images").map((g) => [
      g.title,
      g.matches.length,
    ]),
    [
      ['images.context.subset = "val"', 1],
      ['images.context.subset = "train"', 1],
      ["images.context.subset = None", 1],
    ],
  );
});

Deno.test("stepRange() spans the lowest first step to the highest last step, null without steps", () => {
  assert.deepEqual(stepRange([A, B, C]), { min: 0, max: 20 });
  assert.equal(stepRange([C]), null);
  assert.equal(stepRange([]), null);
});

Deno.test("rampColor() goes from light for nothing to dark for the row's largest, clamped", () => {
  assert.deepEqual(rampColor(0), [247, 248, 250]);
  assert.deepEqual(rampColor(1), [8, 48, 107]);
  assert.deepEqual(rampColor(-3), rampColor(0));
  assert.deepEqual(rampColor(NaN), rampColor(0));
  assert.deepEqual(rampColor(7), rampColor(1));
  // Darker as it fills.
  const sum = (t: number) => rampColor(t).reduce((a, b) => a + b, 0);
  assert.ok(sum(0.2) > sum(0.5) && sum(0.5) > sum(0.8));
});

Deno.test("splitMatches() cuts a text at each case-insensitive match, matches at odd places", () => {
  assert.deepEqual(splitMatches("Step 10: step 11", "STEP"), [
    "",
    "Step",
    " 10: ",
    "step",
    " 11",
  ]);
  assert.deepEqual(splitMatches("no match", "x"), ["no match"]);
  assert.deepEqual(splitMatches("whole", ""), ["whole"]);
});
