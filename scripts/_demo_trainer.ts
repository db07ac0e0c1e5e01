/**
 * A pretend training program for the demo: `_demo_trainer.ts REPO SEED ENDING`
 * with ENDING one of finish, diverge (throws), hang (prints "hung" and waits
 * to be killed).
 */

import { Repo } from "../lib/mod.ts";

const [repoPath, seedText, ending] = Deno.args;
let seed = Number(seedText);
const random =
  () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

const repo = await Repo.open(repoPath);
const lr = [0.1, 0.03, 0.01, 0.003, 0.001][Number(seedText) % 5]!;
const optimizer = ["adam", "sgd", "adamw"][Number(seedText) % 3]!;
const run = await repo.startRun({
  experiment: ["baseline", "wide", "deep"][Number(seedText) % 3]!,
  name: `${optimizer}-lr${lr}`,
  tags: ending === "finish" && random() < 0.3 ? ["best"] : [],
});
run.set("hparams", {
  lr,
  batch_size: [32, 64, 128][Number(seedText) % 3]!,
  optimizer: { name: optimizer, momentum: 0.9 },
});
run.set("model", { layers: [256, 256, 128], dropout: 0.1 + random() * 0.3 });
const train = { subset: "train" };
const val = { subset: "val" };
for (let epoch = 0; epoch < 20; epoch++) {
  for (let batch = 0; batch < 250; batch++) {
    const step = epoch * 250 + batch;
    const loss = 2.5 * Math.exp(-step * lr / 10) + 0.1 * random() +
      (random() < 0.001 ? 3 : 0);
    run.track(loss, { name: "loss", step, epoch, context: train });
    run.track(Math.min(1, 1 - loss / 3 + 0.02 * random()), {
      name: "accuracy",
      step,
      epoch,
      context: train,
    });
  }
  run.track(2.5 * Math.exp(-(epoch + 1) * 250 * lr / 10) + 0.15, {
    name: "loss",
    step: epoch,
    epoch,
    context: val,
  });
  if (ending === "diverge" && epoch === 12) {
    throw new Error("loss is NaN: training diverged");
  }
  if (ending === "hang" && epoch === 8) {
    run.flush();
    console.log("hung");
    await new Promise(() => setInterval(() => {}, 1000));
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
}
await run.close();
