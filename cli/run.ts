/**
 * `aim run -- COMMAND`: a run around any program. The command runs as a
 * child with a tracking pipe; its output is passed through and kept as the
 * run's log; system metrics are sampled; its exit decides the run's end; and
 * SIGTERM, SIGINT and SIGHUP are forwarded to it, with a SIGKILL of its
 * process group when it outlives the grace period (as SLURM's KillWait
 * expects).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { constants } from "node:os";
import type { Readable } from "node:stream";
import {
  COMMON_OPTIONS,
  ECHOED_ERRORS,
  parse,
  RUN_OPTIONS,
  secondsOption,
  startRunFromFlags,
  UsageError,
} from "./_args.ts";
import type { Ending, Run } from "../lib/mod.ts";
import type { ParamValue } from "../lib/types.ts";
import {
  gpuSamples,
  Ingester,
  launchInfo,
  monitorSystem,
  ProcessTreeSampler,
  type SystemMonitor,
  TerminalLog,
} from "../lib/tracking/mod.ts";

const HELP =
  `Usage: aim run [--repo PATH] [--experiment E] [--name N] [--description D]
               [--tag T]... [--param KEY=VALUE]... [--no-capture]
               [--system-interval SECONDS] [--grace SECONDS] -- COMMAND [ARG]...

Starts a run and COMMAND as its child. The child gets AIM_REPO, AIM_RUN_HASH
and AIM_TRACK_FD=3, a pipe on which it may write the tracking protocol (the
Python client does so by itself). Its stdout and stderr are passed through
unchanged and kept as the run's log (--no-capture: passed through only).
The run's parameter __aim records the command, cwd, host, user, pid, the git
commit and dirty flag, and SLURM_* and CUDA_VISIBLE_DEVICES.

Every --system-interval seconds (default 10; 0 turns it off) the CPU % and
RSS of the child's process tree, host memory and load, and GPU use (when
nvidia-smi exists) are tracked with the context {"system": true}.

The run ends when the child does: exit 0 finished, another code failed,
killed by a signal failed with the signal; aim run exits with the child's
code (128+n for a signal). SIGTERM, SIGINT and SIGHUP are forwarded to the
child; if it still runs --grace seconds later (default 20) its process group
is SIGKILLed; the run is then terminated with the signal and aim run exits
128+n.`;

/** Log bytes buffered before the run is flushed, whatever the time. */
const LOG_FLUSH_BYTES = 4 << 20;
/** How long output is still read after the child exits (a grandchild may hold its pipes). */
const DRAIN_MS = 2_000;
const FORWARDED = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

interface Options {
  capture: boolean;
  systemInterval: number;
  grace: number;
}

const RUN_FLAGS = {
  ...RUN_OPTIONS,
  "no-capture": { type: "boolean" },
  "system-interval": { type: "string" },
  grace: { type: "string" },
} as const;

/** `aim run`. */
export async function run(args: string[]): Promise<number> {
  const split = args.indexOf("--");
  if (split < 0) _requireSeparator(args);
  const { values } = parse(
    "aim run",
    split < 0 ? args : args.slice(0, split),
    RUN_FLAGS,
  );
  if (values.help) return (console.log(HELP), 0);
  const command = split < 0 ? [] : args.slice(split + 1);
  if (command.length === 0) {
    throw new UsageError(
      "no command to run: put it after --, as in aim run -- python train.py",
      "aim run",
    );
  }
  const options: Options = {
    capture: values["no-capture"] !== true,
    systemInterval: secondsOption(
      "aim run",
      "--system-interval",
      values["system-interval"],
      { min: 0, max: 86_400, fallback: 10 },
    ),
    grace: secondsOption("aim run", "--grace", values.grace, {
      min: 0,
      max: 86_400,
      fallback: 20,
    }),
  };
  // aim run finalizes the run itself, once the child has ended.
  const { repo, run } = await startRunFromFlags("aim run", values, {
    handleSignals: false,
  });
  try {
    const launch = await launchInfo(command);
    if (Deno.stderr.isTerminal()) {
      console.error(`aim: run ${run.hash} in ${repo.path}`);
    }
    return await _supervise(run, repo.path, command, launch, options);
  } finally {
    repo.close();
  }
}

/**
 * Refuses a command given without `--` before it (`aim run python3
 * train.py`), showing the line to write: without `--`, the command's own
 * flags would be read as aim's.
 */
function _requireSeparator(args: string[]): void {
  const { tokens } = parseArgs({
    args,
    options: { ...COMMON_OPTIONS, ...RUN_FLAGS },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((token) => token.kind === "positional");
  if (first === undefined) return;
  const quoted = (words: string[]) =>
    words.map((w) =>
      /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`
    );
  throw new UsageError(
    `put -- before the command, so that its own options are not read as aim's: aim ${
      [
        "run",
        ...quoted(args.slice(0, first.index)),
        "--",
        ...quoted(args.slice(first.index)),
      ].join(" ")
    }`,
    "aim run",
  );
}

/** How the child ended, as node reports it, or why it never started. */
type ChildEnd =
  | { code: number | null; signal: NodeJS.Signals | null }
  | { error: NodeJS.ErrnoException };

async function _supervise(
  run: Run,
  repoPath: string,
  command: string[],
  launch: Record<string, ParamValue>,
  options: Options,
): Promise<number> {
  const child = spawn(command[0]!, command.slice(1), {
    stdio: [
      "inherit",
      options.capture ? "pipe" : "inherit",
      options.capture ? "pipe" : "inherit",
      "pipe",
    ],
    // Its own process group, so that the grace-period SIGKILL reaches every
    // process it started; signals for it come from aim run.
    detached: true,
    env: {
      ...Deno.env.toObject(),
      AIM_REPO: repoPath,
      AIM_RUN_HASH: run.hash,
      AIM_TRACK_FD: "3",
    },
  });
  const ended = new Promise<ChildEnd>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.on("error", (error) => {
      if (child.pid === undefined) resolve({ error });
    });
  });
  const pid = child.pid;
  run.set("__aim", { ...launch, ...(pid !== undefined ? { pid } : {}) });
  run.flush();

  // Set once the run is about to be finalized: nothing may write to it after.
  let stopped = false;
  let exited = false;
  let received: (typeof FORWARDED)[number] | null = null;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const onSignal = (signal: (typeof FORWARDED)[number]) => {
    // After the child's exit its own ending stands; finalization is under way.
    if (exited || pid === undefined) return;
    if (received === null) {
      received = signal;
      run.log(
        `aim run received ${signal}: forwarded to the command (pid ${pid}); its process group is killed if it still runs in ${options.grace} s`,
        "warning",
      );
      graceTimer = setTimeout(() => {
        run.log(
          `the command outlived the ${options.grace} s grace period: its process group was killed`,
          "warning",
        );
        _kill(-pid, "SIGKILL");
      }, options.grace * 1000);
    } else {
      run.log(`aim run received ${signal} again: forwarded`, "warning");
    }
    _kill(pid, signal);
  };
  for (const signal of FORWARDED) {
    Deno.addSignalListener(signal, () => onSignal(signal));
  }

  // A failing disk must not stop the command: its output keeps flowing and
  // its pipe keeps being read; what cannot be stored is reported once.
  let storageWarned = false;
  const onStorageError = (error: unknown) => {
    if (storageWarned) return;
    storageWarned = true;
    console.error(
      `aim run: warning: run ${run.hash} could not store everything: ${
        error instanceof Error ? error.message : error
      }`,
    );
  };
  const readers: Promise<void>[] = [];
  const logs: TerminalLog[] = [];
  if (options.capture && child.stdout && child.stderr) {
    let logBytes = 0;
    const onLogBytes = (bytes: number) => {
      // The writer flushes every second by itself; this bounds memory when output floods.
      if ((logBytes += bytes) >= LOG_FLUSH_BYTES) {
        logBytes = 0;
        run.flush();
      }
    };
    for (
      const [stream, target, level] of [
        [child.stdout, Deno.stdout, "stdout"],
        [child.stderr, Deno.stderr, "stderr"],
      ] as const
    ) {
      const log = new TerminalLog((text, time) => {
        try {
          run.log(text, level, time);
          onLogBytes(text.length);
        } catch (error) {
          onStorageError(error);
        }
      });
      logs.push(log);
      readers.push(
        _passThrough(stream, target, log, () => stopped, (error) =>
          run.log(
            `aim run stopped passing ${level} through (${error.message}); the command's ${level} was closed, as a shell pipeline would`,
            "warning",
          )),
      );
    }
  }
  const tracking = child.stdio[3] as Readable | null;
  let ingester: Ingester | null = null;
  if (tracking) {
    ingester = new Ingester(run, {
      stopAtClose: false,
      // The command runs here: its images may come as files.
      allowPaths: true,
      onError: onStorageError,
      onMalformed: (text, count) => {
        if (count <= ECHOED_ERRORS) {
          console.error(`aim run: warning: tracking pipe ${text}`);
        }
      },
    });
    readers.push(_ingest(tracking, ingester, () => stopped));
  }

  let monitor: SystemMonitor | null = null;
  if (options.systemInterval > 0 && pid !== undefined) {
    const sampler = new ProcessTreeSampler(pid);
    monitor = monitorSystem({
      sample: () => sampler.sample(),
      gpus: gpuSamples,
      record: (samples) => {
        for (const { name, value, context } of samples) {
          run.track(value, { name, context });
        }
      },
      onError: onStorageError,
      seconds: options.systemInterval,
    });
  }

  let end: ChildEnd;
  try {
    end = await ended;
  } finally {
    exited = true;
    clearTimeout(graceTimer);
    // No sample of a tree that has exited; a GPU probe under way still lands.
    monitor?.pause();
  }
  // Output written just before the exit is still in the pipes: read it, but
  // not forever, since a grandchild may hold them open.
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled(readers),
    new Promise((resolve) => (drainTimer = setTimeout(resolve, DRAIN_MS))),
  ]);
  clearTimeout(drainTimer);
  stopped = true;
  monitor?.stop();
  for (const log of logs) log.end();
  const summary = ingester?.end();
  for (const stream of [child.stdout, child.stderr, tracking]) {
    stream?.destroy();
  }
  // A signal from now on finds `exited` set and is ignored: the child's
  // ending stands, and finalization is synchronous, so nothing interleaves.
  if (summary && summary.malformed > ECHOED_ERRORS) {
    console.error(
      `aim run: warning: ${summary.malformed} malformed tracking lines in all (see the run's log)`,
    );
  }
  const { ending, code } = _ending(end, received);
  if ("error" in end) {
    const text = `cannot start ${
      JSON.stringify(command[0])
    }: ${end.error.message}`;
    run.log(text, "error");
    console.error(`aim run: error: ${text}`);
  }
  run.finalize(ending);
  return code;
}

/** The run's ending and aim run's exit code for how the child ended. */
function _ending(
  end: ChildEnd,
  received: string | null,
): { ending: Ending; code: number } {
  if ("error" in end) {
    // As a shell reports it: 127 not found, 126 found but not executable.
    const code = end.error.code === "ENOENT" ? 127 : 126;
    return {
      ending: { status: "failed", exitCode: code },
      code,
    };
  }
  if (received !== null) {
    return {
      ending: {
        status: "terminated",
        signal: received,
        exitCode: end.code,
      },
      code: 128 + _signalNumber(received),
    };
  }
  if (end.signal !== null) {
    return {
      ending: { status: "failed", signal: end.signal },
      code: 128 + _signalNumber(end.signal),
    };
  }
  const code = end.code ?? 1;
  return {
    ending: code === 0
      ? { status: "finished", exitCode: 0 }
      : { status: "failed", exitCode: code },
    code,
  };
}

/** Copies a child's output to `target` and into `log`, one chunk at a time (the child waits while the target does). */
async function _passThrough(
  stream: Readable,
  target: { write(data: Uint8Array): Promise<number> },
  log: TerminalLog,
  stopped: () => boolean,
  onBroken: (error: Error) => void,
): Promise<void> {
  let passing = true;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      if (stopped()) return;
      if (passing) {
        try {
          for (let done = 0; done < chunk.length;) {
            done += await target.write(chunk.subarray(done));
          }
        } catch (error) {
          passing = false;
          onBroken(error as Error);
          // What the child would have met without aim run in between.
          stream.destroy();
        }
      }
      if (stopped()) return;
      log.push(chunk);
    }
    if (!stopped()) log.end();
  } catch {
    // The stream was destroyed after the drain period: what was read is kept.
  }
}

async function _ingest(
  stream: Readable,
  ingester: Ingester,
  stopped: () => boolean,
): Promise<void> {
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      if (stopped()) return;
      ingester.push(chunk);
    }
  } catch {
    // Destroyed after the drain period.
  }
}

function _kill(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function _signalNumber(signal: string): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}
