/**
 * The `aim` command line: parses, validates and delegates to `cli/`.
 *
 * @module
 */

import { unknownWord, UsageError } from "./cli/_args.ts";
import { AimError } from "./lib/errors.ts";
import { runWorker, workerRole } from "./server/worker_entry.ts";

/** The version this program reports. */
export const VERSION = "0.1.0";

const HELP = `aim ${VERSION}: experiment tracking in one binary

Usage: aim <command> [options]

Commands:
  init                 create a repository (.aim) here or at --repo
  runs ls              list runs, indexed or not; --query filters them
  metrics ls           search series across runs with a metric query
  runs rm <hash...>    delete runs (refuses live runs without --force)
  track                record a run from the tracking protocol on stdin
  run -- COMMAND       record a run around any command (output, system metrics, exit, signals)
  reindex              index runs whose writer did not (crashed, killed)
  status               counts of runs, indexed and not, and the index size
  up                   serve the web UI and the API; index stalled runs in the background
  version              print the version

Options for every command:
  --repo PATH          the repository (default: $AIM_REPO, then the nearest .aim upward)
  -h, --help           help for the command
  --verbose            show the cause of an error

Run 'aim <command> --help' for a command's options.`;

type Command = (args: string[]) => Promise<number> | number;

const COMMANDS: Record<string, () => Promise<Command>> = {
  init: async () => (await import("./cli/init.ts")).init,
  reindex: async () => (await import("./cli/reindex.ts")).reindexCommand,
  status: async () => (await import("./cli/status.ts")).status,
  runs: async () => (await import("./cli/runs.ts")).runs,
  track: async () => (await import("./cli/track.ts")).track,
  run: async () => (await import("./cli/run.ts")).run,
  metrics: async () => (await import("./cli/metrics.ts")).metrics,
  up: async () => {
    const { up } = await import("./cli/up.ts");
    return (args) => up(args, VERSION);
  },
  version: () =>
    Promise.resolve((args) => {
      if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
        console.log("Usage: aim version\n\nPrints the version of aim.");
        return 0;
      }
      if (args.length > 0) {
        throw new UsageError(
          `aim version takes no arguments, got ${JSON.stringify(args[0])}`,
          "aim version",
        );
      }
      console.log(`aim ${VERSION}`);
      return 0;
    }),
};

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const verbose = args.includes("--verbose");
  if (
    name === undefined || name === "--help" || name === "-h" || name === "help"
  ) {
    console.log(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    return COMMANDS.version!().then((c) => c([]));
  }
  const load = COMMANDS[name];
  try {
    if (load === undefined) {
      throw new UsageError(
        unknownWord("command", name, Object.keys(COMMANDS)),
        "aim",
      );
    }
    return await (await load())(rest);
  } catch (error) {
    return report(error, verbose);
  }
}

/**
 * Prints a user-facing error and returns its exit code. Anything but a
 * usage error or an `AimError` is a bug: it is rethrown, so its stack shows.
 */
function report(error: unknown, verbose: boolean): number {
  if (error instanceof UsageError) {
    console.error(
      `error: ${error.message}\nRun '${error.command} --help' for usage.`,
    );
    return 2;
  }
  if (error instanceof AimError) {
    console.error(`error: ${error.message}`);
    if (verbose) {
      for (
        let cause = error.cause;
        cause !== undefined;
        cause = (cause as Error).cause
      ) {
        console.error(
          `  caused by: ${
            cause instanceof Error ? cause.message : String(cause)
          }`,
        );
        if (!(cause instanceof Error)) break;
      }
    }
    return 1;
  }
  throw error;
}

if (import.meta.main) {
  // The same module is the entry of every Worker of aim up: dispatch on its name.
  const role = workerRole();
  if (role !== null) await runWorker(role);
  else Deno.exit(await main(Deno.args));
}
