/**
 * `deno task bundle [OUTPUT]`: the whole program as one executable
 * JavaScript file (default `dist/aim.js`), for copying to a machine that has
 * Deno but not this checkout, such as a cluster's login node. It starts with
 * the line {@linkcode SHEBANG}, so `./aim.js --help` runs it; it reads
 * nothing but itself (the web UI is inside it) and downloads nothing.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The bundle's first line. `--no-config`: a `deno.json` or `deno.lock` in a
 * folder above wherever the file is copied would otherwise be read, and
 * Deno fetches every package such a lock names before starting.
 */
export const SHEBANG = "#!/usr/bin/env -S deno run --allow-all --no-config";

/** Bundles `main.ts` into `output`, executable (mode 0755); returns its absolute path. */
export async function bundle(output: string): Promise<string> {
  const target = resolve(output);
  await Deno.mkdir(dirname(target), { recursive: true });
  const temporary = join(dirname(target), `.aim-bundle-${Deno.pid}.js`);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--output", temporary, "main.ts"],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `deno bundle failed (exit ${out.code}): ${
          new TextDecoder().decode(out.stderr)
        }`,
      );
    }
    const body = (await Deno.readTextFile(temporary)).replace(
      /^#![^\n]*\n/,
      "",
    );
    await Deno.writeTextFile(temporary, `${SHEBANG}\n${body}`, { mode: 0o755 });
    // writeTextFile's mode is filtered by the umask; an executable must be executable.
    await Deno.chmod(temporary, 0o755);
    // Renamed into place whole: a running copy keeps its file.
    await Deno.rename(temporary, target);
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
  return target;
}

if (import.meta.main) {
  const [output = join(ROOT, "dist", "aim.js"), ...extra] = Deno.args;
  if (extra.length > 0 || output.startsWith("-")) {
    console.error("Usage: deno task bundle [OUTPUT]   (default dist/aim.js)");
    Deno.exit(2);
  }
  const path = await bundle(output);
  const size = (await Deno.stat(path)).size;
  console.log(
    `${path} (${
      (size / 1024).toFixed(0)
    } KiB): run it as ${path} --help, or copy it anywhere Deno is`,
  );
}
