/**
 * Real filesystems for the fault tests: a small tmpfs that fills up, and a
 * read-only view of a folder. Both need to mount, which needs root; where
 * mounting is refused the tests that need it say so and are skipped.
 *
 * @module
 */

/** A mounted folder, unmounted at scope end. */
export interface Mount extends AsyncDisposable {
  path: string;
}

async function _run(args: string[]): Promise<{ ok: boolean; err: string }> {
  const out = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
}

let _canMount: boolean | undefined;

/** Whether this process may mount filesystems (root, or the capability). */
export async function canMount(): Promise<boolean> {
  if (_canMount === undefined) {
    const probe = await Deno.makeTempDir({ prefix: "aim-mount-probe-" });
    const mounted = await _run([
      "mount",
      "-t",
      "tmpfs",
      "-o",
      "size=64k",
      "tmpfs",
      probe,
    ])
      .catch(() => ({ ok: false, err: "" }));
    if (mounted.ok) await _run(["umount", probe]);
    await Deno.remove(probe);
    _canMount = mounted.ok;
  }
  return _canMount;
}

/** A fresh tmpfs of `bytes`. */
export async function tmpfs(bytes: number): Promise<Mount> {
  const path = await Deno.makeTempDir({ prefix: "aim-tmpfs-" });
  const mounted = await _run([
    "mount",
    "-t",
    "tmpfs",
    "-o",
    `size=${bytes}`,
    "tmpfs",
    path,
  ]);
  if (!mounted.ok) throw new Error(`cannot mount a tmpfs: ${mounted.err}`);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await _run(["umount", "-l", path]);
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** `source` seen through a read-only bind mount. */
export async function readOnlyView(source: string): Promise<Mount> {
  const path = await Deno.makeTempDir({ prefix: "aim-ro-" });
  for (
    const args of [
      ["mount", "--bind", source, path],
      ["mount", "-o", "remount,ro,bind", path],
    ]
  ) {
    const done = await _run(args);
    if (!done.ok) {
      await _run(["umount", path]);
      throw new Error(`cannot make a read-only view: ${done.err}`);
    }
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      await _run(["umount", "-l", path]);
      await Deno.remove(path).catch(() => {});
    },
  };
}

/** Fills the filesystem of `dir` with a file, leaving about `leave` bytes free. */
export async function fillDisk(dir: string, leave: number): Promise<string> {
  const path = `${dir}/filler`;
  const file = await Deno.open(path, { write: true, create: true });
  try {
    const block = new Uint8Array(64 * 1024);
    for (;;) {
      const free = await _freeBytes(dir);
      if (free <= leave) break;
      const n = Math.min(block.length, free - leave);
      await file.write(block.subarray(0, Math.max(1, n)));
    }
  } catch {
    // Full already.
  } finally {
    file.close();
  }
  return path;
}

async function _freeBytes(dir: string): Promise<number> {
  const out = await new Deno.Command("df", {
    args: ["-B1", "--output=avail", dir],
    stdout: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return Number(lines[lines.length - 1]);
}
