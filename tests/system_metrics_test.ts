import assert from "node:assert/strict";
import { monitorSystem, type SystemSample } from "../lib/tracking/mod.ts";
import { ManualClock } from "./_clock.ts";

const cpu = (value: number): SystemSample => ({
  name: "cpu_percent",
  value,
  context: { system: true },
});

Deno.test("monitorSystem() records one sample per interval after a baseline, and nothing after its stop", () => {
  const clock = new ManualClock();
  let calls = 0;
  const recorded: number[] = [];
  const monitor = monitorSystem({
    sample: () => [cpu(calls++)],
    gpus: () => Promise.resolve(null),
    record: (samples) => recorded.push(...samples.map((s) => s.value)),
    onError: (error) => assert.fail(String(error)),
    seconds: 10,
    clock,
  });
  assert.equal(calls, 1, "the baseline is taken at once");
  assert.deepEqual(recorded, [], "and not recorded");
  clock.advance(9_999);
  assert.deepEqual(recorded, []);
  clock.advance(1);
  assert.deepEqual(recorded, [1]);
  clock.advance(40_000);
  assert.deepEqual(recorded, [1, 2, 3, 4, 5]);
  monitor.stop();
  clock.advance(100_000);
  assert.deepEqual(recorded, [1, 2, 3, 4, 5]);
  assert.equal(clock.active, 0);
});

Deno.test("monitorSystem() asks for GPUs once at a time, stops asking when there are none, and survives a failing record", async () => {
  const clock = new ManualClock();
  const asked: ((samples: SystemSample[] | null) => void)[] = [];
  const recorded: string[] = [];
  const errors: unknown[] = [];
  let failNext = false;
  monitorSystem({
    sample: () => [cpu(1)],
    gpus: () => new Promise((resolve) => asked.push(resolve)),
    record: (samples) => {
      if (failNext) {
        failNext = false;
        throw new Error("disk full");
      }
      recorded.push(...samples.map((s) => s.name));
    },
    onError: (error) => errors.push(error),
    seconds: 1,
    clock,
  });
  clock.advance(3_000);
  assert.equal(
    asked.length,
    1,
    "a slow nvidia-smi is not asked again meanwhile",
  );
  asked[0]!([{ name: "gpu_percent", value: 42, context: { system: true } }]);
  await Promise.resolve();
  assert.deepEqual(recorded.filter((n) => n === "gpu_percent"), [
    "gpu_percent",
  ]);
  failNext = true;
  clock.advance(1_000);
  assert.equal(errors.length, 1, "a failing record is reported");
  assert.equal(asked.length, 2);
  asked[1]!(null); // no GPUs after all
  await Promise.resolve();
  clock.advance(5_000);
  assert.equal(asked.length, 2, "not asked again once there are none");
  assert.equal(recorded.filter((n) => n === "cpu_percent").length, 3 + 5);
});

Deno.test("monitorSystem() paused takes no sample but still records a GPU probe under way; stopped, not even that", async () => {
  const clock = new ManualClock();
  const asked: ((samples: SystemSample[] | null) => void)[] = [];
  const recorded: string[] = [];
  const monitor = monitorSystem({
    sample: () => [cpu(1)],
    gpus: () => new Promise((resolve) => asked.push(resolve)),
    record: (samples) => recorded.push(...samples.map((s) => s.name)),
    onError: (error) => assert.fail(String(error)),
    seconds: 1,
    clock,
  });
  clock.advance(1_000);
  monitor.pause();
  clock.advance(10_000);
  assert.deepEqual(recorded, ["cpu_percent"]);
  asked[0]!([{ name: "gpu_percent", value: 1, context: { system: true } }]);
  await Promise.resolve();
  assert.deepEqual(recorded, ["cpu_percent", "gpu_percent"]);
  monitor.stop();
  assert.equal(clock.active, 0);
});
