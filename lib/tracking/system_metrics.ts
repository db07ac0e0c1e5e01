/**
 * System metrics for `aim run`: CPU and memory of a process tree and load
 * and memory of its host, read from `/proc` (Linux; elsewhere there are
 * none), and NVIDIA GPUs through `nvidia-smi` when it exists.
 *
 * @module
 */

import { type Clock, systemClock } from "../util/clock.ts";

/** One measured value, tracked as a point of the series `name` with `context`. */
export interface SystemSample {
  /**
   * `cpu_percent`, `rss_mb`, `processes`, `host_memory_percent`,
   * `host_load`, `gpu_percent`, `gpu_memory_mb` or `gpu_memory_percent`.
   */
  name: string;
  /** In the unit the name says: percent, MB, a count, or the load average. */
  value: number;
  /** `{ system: true }`, plus the GPU's index for the `gpu_` series. */
  context: { system: true; gpu?: number };
}

/** Kernel clock ticks per second (`USER_HZ`): 100 on every Linux architecture aim runs on. */
const CLOCK_TICKS = 100;

interface _Proc {
  pid: number;
  ppid: number;
  pgrp: number;
  /** user + system time, in clock ticks. */
  ticks: number;
  /** Start time in ticks since boot: with the pid, identifies a process across samples. */
  start: string;
}

/**
 * Samples the process tree rooted at one process: the root, its descendants
 * and every process still in its process group (a daemonized grandchild
 * that kept the group), then host memory and load.
 *
 * CPU % is the tree's CPU time since the previous sample over the wall time
 * (100 = one core busy); processes born and gone between two samples are
 * not seen. RSS is summed over the tree, so memory shared between forked
 * workers counts once per process.
 *
 * @example Sample this process
 * ```ts
 * import { ProcessTreeSampler } from "./system_metrics.ts";
 *
 * const sampler = new ProcessTreeSampler(Deno.pid);
 * const first = sampler.sample(); // sets the CPU baseline
 * // `aim run` samples every few seconds; a moment is enough here.
 * await new Promise((resolve) => setTimeout(resolve, 100));
 * const second = sampler.sample();
 * console.log(first.some((s) => s.name === "cpu_percent")); // false
 * console.log(second.map((s) => s.name)); // on Linux: cpu_percent, rss_mb, processes, host_memory_percent, host_load
 * ```
 */
export class ProcessTreeSampler {
  readonly #root: number;
  #previous = new Map<string, number>();
  #previousAt = 0;

  /** Samples the tree rooted at process `rootPid`; nothing is read before {@linkcode ProcessTreeSampler.sample}. */
  constructor(rootPid: number) {
    this.#root = rootPid;
  }

  /** Samples now; the first call only sets the CPU baseline and returns no CPU figure. */
  sample(): SystemSample[] {
    const now = performance.now();
    const tree = this.#tree();
    if (tree === null) return [];
    const samples: SystemSample[] = [];
    const ticks = new Map<string, number>();
    let delta = 0;
    let rssKb = 0;
    for (const proc of tree) {
      const key = `${proc.pid}:${proc.start}`;
      ticks.set(key, proc.ticks);
      delta += Math.max(0, proc.ticks - (this.#previous.get(key) ?? 0));
      rssKb += _rssKb(proc.pid);
    }
    if (this.#previousAt > 0 && now > this.#previousAt) {
      const seconds = (now - this.#previousAt) / 1000;
      samples.push(_sample("cpu_percent", delta / CLOCK_TICKS / seconds * 100));
    }
    this.#previous = ticks;
    this.#previousAt = now;
    samples.push(
      _sample("rss_mb", rssKb / 1024),
      _sample("processes", tree.length),
    );
    samples.push(...hostSamples());
    return samples;
  }

  /** The tree's processes, or `null` when /proc cannot be read (not Linux). */
  #tree(): _Proc[] | null {
    const all: _Proc[] = [];
    let entries: Iterable<Deno.DirEntry>;
    try {
      entries = Deno.readDirSync("/proc");
    } catch {
      return null;
    }
    for (const entry of entries) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid)) continue;
      const proc = _readStat(pid);
      if (proc !== null) all.push(proc);
    }
    const children = new Map<number, _Proc[]>();
    for (const proc of all) {
      const list = children.get(proc.ppid);
      if (list === undefined) children.set(proc.ppid, [proc]);
      else list.push(proc);
    }
    const seen = new Set<number>();
    const tree: _Proc[] = [];
    const visit = (proc: _Proc) => {
      if (seen.has(proc.pid)) return;
      seen.add(proc.pid);
      tree.push(proc);
      for (const child of children.get(proc.pid) ?? []) visit(child);
    };
    for (const proc of all) {
      if (proc.pid === this.#root || proc.pgrp === this.#root) visit(proc);
    }
    return tree;
  }
}

/** Host memory in use (% of total, as `free` counts it: total − available) and the 1-minute load average. */
export function hostSamples(): SystemSample[] {
  const samples: SystemSample[] = [];
  const meminfo = _read("/proc/meminfo");
  if (meminfo !== null) {
    const total = _meminfoKb(meminfo, "MemTotal");
    const available = _meminfoKb(meminfo, "MemAvailable");
    if (total !== null && available !== null && total > 0) {
      samples.push(
        _sample("host_memory_percent", (1 - available / total) * 100),
      );
    }
  }
  const load = _read("/proc/loadavg");
  if (load !== null) {
    const value = Number(load.split(" ")[0]);
    if (Number.isFinite(value)) samples.push(_sample("host_load", value));
  }
  return samples;
}

/** The command that reports GPUs; a test may put a fake one first on PATH. */
const NVIDIA_SMI = "nvidia-smi";
/** Longest wait for nvidia-smi, in milliseconds: a wedged driver must not pile up processes. */
const NVIDIA_SMI_TIMEOUT = 5_000;

/**
 * Utilisation (%), memory used (MB) and memory used (%) of every GPU that
 * `nvidia-smi` shows, with the GPU's index in the context. `null` when
 * `nvidia-smi` does not exist or fails: the caller stops asking.
 */
export async function gpuSamples(): Promise<SystemSample[] | null> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(NVIDIA_SMI, {
      args: [
        "--query-gpu=index,utilization.gpu,memory.used,memory.total",
        "--format=csv,noheader,nounits",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(NVIDIA_SMI_TIMEOUT),
    }).output();
  } catch {
    return null;
  }
  if (!output.success) return null;
  return parseNvidiaSmi(new TextDecoder().decode(output.stdout));
}

/** Parses `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(text: string): SystemSample[] {
  const samples: SystemSample[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(",").map((field) => Number(field.trim()));
    if (fields.length !== 4) continue;
    const [index, utilization, used, total] = fields as [
      number,
      number,
      number,
      number,
    ];
    if (!Number.isInteger(index)) continue;
    const context = { system: true as const, gpu: index };
    // "[N/A]" fields (some GPUs do not report utilisation) parse as NaN and are left out.
    if (Number.isFinite(utilization)) {
      samples.push({ name: "gpu_percent", value: utilization, context });
    }
    if (Number.isFinite(used)) {
      samples.push({ name: "gpu_memory_mb", value: used, context });
      if (Number.isFinite(total) && total > 0) {
        samples.push({
          name: "gpu_memory_percent",
          value: used / total * 100,
          context,
        });
      }
    }
  }
  return samples;
}

function _sample(name: string, value: number): SystemSample {
  return { name, value, context: { system: true } };
}

function _read(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

function _readStat(pid: number): _Proc | null {
  const text = _read(`/proc/${pid}/stat`);
  if (text === null) return null;
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  if (fields.length < 20) return null;
  return {
    pid,
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    ticks: Number(fields[11]) + Number(fields[12]),
    start: fields[19]!,
  };
}

function _rssKb(pid: number): number {
  const status = _read(`/proc/${pid}/status`);
  const match = status?.match(/^VmRSS:\s+(\d+) kB/m);
  return match ? Number(match[1]) : 0;
}

function _meminfoKb(meminfo: string, key: string): number | null {
  const match = meminfo.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
  return match ? Number(match[1]) : null;
}

/** What {@linkcode monitorSystem} needs. */
export interface MonitorOptions {
  /** Samples the process tree and the host (the first call only sets the CPU baseline). */
  sample: () => SystemSample[];
  /** Samples the GPUs; null when there are none (then it is not asked again). */
  gpus: () => Promise<SystemSample[] | null>;
  /** Records samples; an error thrown here goes to `onError` and sampling goes on. */
  record: (samples: SystemSample[]) => void;
  /** Told of a failed record (a full disk, say); sampling goes on. */
  onError: (error: unknown) => void;
  /** Seconds between samples. */
  seconds: number;
  /** The time source (the system clock by default). */
  clock?: Clock;
}

/** A running {@linkcode monitorSystem}. */
export interface SystemMonitor {
  /** Takes no new sample; a GPU probe under way is still recorded when it answers. */
  pause(): void;
  /** Records nothing more, not even a GPU probe under way. */
  stop(): void;
}

/**
 * Samples system metrics every `seconds`: the process tree and host at
 * once, the GPUs in the background, never two GPU probes at a time (a slow
 * `nvidia-smi` is skipped, not queued).
 */
export function monitorSystem(options: MonitorOptions): SystemMonitor {
  const clock = options.clock ?? systemClock;
  let stopped = false;
  let gpus = true;
  let asking = false;
  const record = (samples: SystemSample[]) => {
    if (stopped || samples.length === 0) return;
    try {
      options.record(samples);
    } catch (error) {
      options.onError(error);
    }
  };
  options.sample();
  const stopTimer = clock.every(options.seconds * 1000, () => {
    record(options.sample());
    if (gpus && !asking) {
      asking = true;
      options.gpus().then((samples) => {
        asking = false;
        if (samples === null) gpus = false;
        else record(samples);
      });
    }
  });
  return {
    pause: stopTimer,
    stop() {
      stopped = true;
      stopTimer();
    },
  };
}
