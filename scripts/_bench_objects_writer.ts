/**
 * A writer process for `deno task bench objects`: creates `runs` runs in a
 * repository, each with a sequence of `steps` batches of `batch` images
 * ("samples", context {subset: "val"}) and closes them (each is indexed as
 * it finalizes), then prints "done". Images of earlier steps are 8×8 (the
 * disk stays small); the last step's are 64×64, as a grid shows first.
 * Usage: `_bench_objects_writer.ts REPO RUNS STEPS BATCH SEED`.
 *
 * @module
 */

import { Image, Repo } from "../lib/mod.ts";

const [path, runsText, stepsText, batchText, seedText] = Deno.args;
const runs = Number(runsText), steps = Number(stepsText);
const batch = Number(batchText), seed = Number(seedText);

/** A 64×64 RGB image: a gradient with noise, as photos compress. */
export function photo(n: number): Image {
  const data = new Uint8Array(64 * 64 * 3);
  let x = (n * 2654435761) >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = ((i / 3) % 64) * 3 + ((x >>> 0) % 24);
  }
  return Image.fromPixels(data, 64, 64, 3);
}

if (import.meta.main) {
  const repo = await Repo.open(path);
  // Checked once, tracked many times: the writer stores the same bytes again.
  const small = Array.from(
    { length: batch },
    (_, i) =>
      Image.fromPixels(new Uint8Array(64).fill((i * 16) & 255), 8, 8, 1),
  );
  const large = Array.from({ length: batch }, (_, i) => photo(seed * 100 + i));
  for (let r = 0; r < runs; r++) {
    const run = await repo.startRun({
      experiment: "grid",
      name: `run-${seed}-${r}`,
    });
    run.set("hparams", { lr: 0.001 * (r + 1), seed });
    for (let step = 0; step < steps; step++) {
      run.track(step === steps - 1 ? large : small, {
        name: "samples",
        step,
        context: { subset: "val" },
      });
    }
    await run.close();
  }
  repo.close();
  console.log("done");
}
