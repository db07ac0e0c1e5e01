/**
 * `deno task install [--bin DIR]`: puts an `aim` command on the PATH. It is
 * the bundle (`scripts/bundle.ts`): one self-contained file that needs
 * Deno and nothing else (not this checkout, no download), so it keeps
 * working after the checkout moves; run the task again to update it.
 *
 * Where it goes: `--bin DIR`; else beside the `deno` found on the PATH (so
 * `aim` is found wherever `deno` is) when that folder can be written; else
 * `~/.local/bin`, saying how to add it to the PATH when it is not on it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { delimiter, join, resolve } from "node:path";
import { bundle } from "./bundle.ts";

const HELP = `Usage: deno task install [--bin DIR]

Installs aim as DIR/aim: one executable file (the bundle) that needs only
Deno. Without --bin, DIR is the folder of the deno command on your PATH
when it can be written, else ~/.local/bin.`;

/** Where `aim` is installed and why, as {@linkcode chooseBin} decides. */
export interface BinChoice {
  dir: string;
  reason: string;
}

/**
 * The folder to install into: `given`, else the folder of the first `deno`
 * on `path` if `writable` says it can be written, else `~/.local/bin`.
 */
export function chooseBin(
  given: string | undefined,
  env: { path: string; home: string | undefined },
  writable: (dir: string) => boolean,
): BinChoice {
  if (given !== undefined) return { dir: resolve(given), reason: "--bin" };
  const denoDir = env.path.split(delimiter).find((dir) =>
    dir !== "" && _isExecutable(join(dir, "deno"))
  );
  if (denoDir !== undefined && writable(denoDir)) {
    return { dir: resolve(denoDir), reason: "beside deno" };
  }
  if (env.home === undefined) {
    throw new Error(
      `Cannot choose where to install: ${
        denoDir ? `${denoDir} cannot be written` : "no deno on the PATH"
      } and HOME is not set; give --bin DIR`,
    );
  }
  return {
    dir: join(env.home, ".local", "bin"),
    reason: denoDir
      ? `${denoDir}, where deno is, cannot be written`
      : "no deno on the PATH",
  };
}

/** Bundles aim and installs it as `dir/aim`; returns the file's path. */
export async function install(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  return await bundle(join(dir, "aim"));
}

function _isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

function _writable(dir: string): boolean {
  const probe = join(dir, `.aim-install-probe-${Deno.pid}`);
  try {
    Deno.writeFileSync(probe, new Uint8Array(), { createNew: true });
    Deno.removeSync(probe);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        bin: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${HELP}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const path = Deno.env.get("PATH") ?? "";
  const choice = chooseBin(
    values.bin,
    { path, home: Deno.env.get("HOME") },
    _writable,
  );
  const file = await install(choice.dir);
  const check = await new Deno.Command(file, {
    args: ["version"],
    stdin: "null",
  }).output();
  const version = new TextDecoder().decode(check.stdout).trim();
  if (!check.success) {
    console.error(
      `error: ${file} was written but does not run: ${
        new TextDecoder().decode(check.stderr)
      }`,
    );
    Deno.exit(1);
  }
  console.log(`Installed ${version} as ${file} (${choice.reason}).`);
  const onPath = path.split(delimiter).some((dir) =>
    dir !== "" && resolve(dir) === choice.dir
  );
  if (onPath) {
    console.log("Run 'aim --help' from any folder.");
  } else {
    console.log(
      `${choice.dir} is not on your PATH: add it, e.g. with\n  echo 'export PATH="${choice.dir}:$PATH"' >> ~/.bashrc\nthen open a new shell and run 'aim --help'.`,
    );
  }
}
