/**
 * The token `aim up` generates, kept across restarts so that open tabs and
 * bookmarks keep working: in the user's config folder
 * (`$XDG_CONFIG_HOME/aim/token`, else `~/.config/aim/token`), readable by
 * its owner only (mode 0600, in a folder of mode 0700). `--token` and
 * `AIM_TOKEN` bypass it; `aim up --rotate-token` replaces it.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { MIN_TOKEN_LENGTH } from "../server/guard.ts";

/** The token and where it is kept, as {@linkcode keptToken} gives it. */
export interface KeptToken {
  token: string;
  /** The file it is kept in, or null when it cannot be kept. */
  file: string | null;
  /**
   * Whether it is new (first start, rotation, or an untrusted file
   * replaced): {@linkcode saveToken} writes it once the server listens.
   */
  created: boolean;
  /** Something the person should know, for stderr (a file replaced or not writable). */
  warning: string | null;
}

/**
 * The file the generated token is kept in: `$XDG_CONFIG_HOME/aim/token`,
 * else `$HOME/.config/aim/token`; null when neither is set.
 */
export function tokenFile(
  env: { get(name: string): string | undefined } = Deno.env,
): string | null {
  const config = env.get("XDG_CONFIG_HOME") ||
    (env.get("HOME") ? join(env.get("HOME")!, ".config") : "");
  return config ? join(config, "aim", "token") : null;
}

/**
 * The token `aim up` keeps in `file` (see {@linkcode tokenFile}), or a new
 * one when there is none, `rotate` is set, or the file cannot be trusted:
 * readable by others, another user's, or not a token. Writes nothing.
 */
export function keptToken(
  file: string | null,
  { rotate = false }: { rotate?: boolean } = {},
): KeptToken {
  if (file === null) {
    return {
      token: newToken(),
      file: null,
      created: true,
      warning:
        "neither XDG_CONFIG_HOME nor HOME is set: the token cannot be kept and changes at every start",
    };
  }
  if (!rotate) {
    const found = _read(file);
    if (found.token !== null) {
      return { token: found.token, file, created: false, warning: null };
    }
    if (found.problem !== null) {
      return { token: newToken(), file, created: true, warning: found.problem };
    }
  }
  return { token: newToken(), file, created: true, warning: null };
}

/**
 * Writes a new {@linkcode KeptToken} to its file (mode 0600, the folder
 * 0700 when made), whole: a reader never sees half a token. Returns why it
 * could not, or null.
 */
export function saveToken(kept: KeptToken): string | null {
  if (!kept.created || kept.file === null) return null;
  try {
    _write(kept.file, kept.token);
    return null;
  } catch (error) {
    return `cannot keep the token in ${kept.file} (${
      error instanceof Error ? error.message : error
    }): it changes at every start`;
  }
}

/** A new random token: 36 hex characters (144 bits). */
export function newToken(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(18)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** The token in `file`, or why there is none to use (null when simply absent). */
function _read(file: string): { token: string | null; problem: string | null } {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { token: null, problem: null };
    }
    throw error;
  }
  const replaced = (why: string) => ({
    token: null,
    problem: `${file} ${why}: a new token replaces it`,
  });
  if (!info.isFile) return replaced("is not a regular file");
  if (((info.mode ?? 0) & 0o077) !== 0) {
    return replaced(
      `was readable by others (mode ${
        ((info.mode ?? 0) & 0o777).toString(8).padStart(3, "0")
      })`,
    );
  }
  if (info.uid !== null && info.uid !== Deno.uid()) {
    return replaced(`belongs to another user (uid ${info.uid})`);
  }
  const token = Deno.readTextFileSync(file).trim();
  if (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    return replaced(
      `does not hold a token (at least ${MIN_TOKEN_LENGTH} printable characters without spaces)`,
    );
  }
  return { token, problem: null };
}

/** Writes `token` to `file` whole (mode 0600, its folder 0700 when made). */
function _write(file: string, token: string): void {
  Deno.mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${Deno.pid}.tmp`;
  try {
    // Created 0600 (the umask can only remove bits): never readable by others, even briefly.
    Deno.writeTextFileSync(temporary, `${token}\n`, {
      mode: 0o600,
      createNew: true,
    });
    Deno.chmodSync(temporary, 0o600);
    Deno.renameSync(temporary, file);
  } catch (error) {
    try {
      Deno.removeSync(temporary);
    } catch {
      // Never made.
    }
    throw error;
  }
}
