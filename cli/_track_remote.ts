/**
 * `aim track --remote URL` and what `aim run --remote URL` shares with it:
 * a run opened on `aim up` from the run flags, fed through a
 * {@linkcode RemoteSender}.
 *
 * @module
 */

import {
  ECHOED_ERRORS,
  parseParams,
  secondsOption,
  UsageError,
} from "./_args.ts";
import { AimError } from "../lib/mod.ts";
import { RemoteSender, type RemoteSenderOptions } from "./_remote.ts";

/** Flags of the commands that can track remotely. */
export const REMOTE_OPTIONS = {
  remote: { type: "string" },
  "close-timeout": { type: "string" },
} as const;

/** The run flags and the remote ones, as parsed. */
export interface RemoteFlags {
  repo?: string;
  experiment?: string;
  name?: string;
  description?: string;
  tag?: string[];
  param?: string[];
  remote?: string;
  "close-timeout"?: string;
}

/** Bytes read from standard input at a time. */
const READ_SIZE = 1 << 20;

/**
 * Opens a run on the server named by `--remote` with the run flags, its
 * `--param`s queued as its first lines; the token comes from `AIM_TOKEN`.
 * Returns the sender and how long closing may wait, in milliseconds.
 */
export async function openRemoteFromFlags(
  command: string,
  values: RemoteFlags & { remote: string },
  options: Pick<RemoteSenderOptions, "stopAtClose" | "onMalformed"> = {},
): Promise<{ sender: RemoteSender; closeTimeoutMs: number }> {
  if (values.repo !== undefined) {
    throw new UsageError(
      "--repo and --remote contradict each other: the run goes to one place",
      command,
    );
  }
  const closeTimeoutMs = secondsOption(
    command,
    "--close-timeout",
    values["close-timeout"],
    { min: 0, max: 86_400, fallback: 120 },
  ) * 1000;
  const params = parseParams(values.param ?? [], command);
  for (const tag of values.tag ?? []) {
    if (tag.trim() === "") {
      throw new UsageError("--tag must not be empty", command);
    }
  }
  const token = Deno.env.get("AIM_TOKEN") || null;
  // An HTTP header cannot carry it, and fetch's error would read like a
  // network failure, retried until --close-timeout.
  if (token !== null && !/^[\x21-\x7e]+$/.test(token)) {
    throw new AimError(
      "bad_request",
      `AIM_TOKEN holds a space, a line break or a character outside printable ASCII (${token.length} characters): set it to the token aim up printed, alone`,
    );
  }
  const sender = await RemoteSender.open({
    url: values.remote,
    token,
    run: {
      ...(values.experiment !== undefined
        ? { experiment: values.experiment }
        : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.description !== undefined
        ? { description: values.description }
        : {}),
      tags: values.tag ?? [],
    },
    ...options,
  });
  for (const [key, value] of params) {
    sender.pushMessage({ set: key, value });
  }
  return { sender, closeTimeoutMs };
}

/** `aim track --remote URL`: standard input to a run on `aim up`. */
export async function trackRemote(
  values: RemoteFlags & { remote: string },
): Promise<number> {
  let echoed = 0;
  const { sender, closeTimeoutMs } = await openRemoteFromFlags(
    "aim track",
    values,
    {
      stopAtClose: true,
      onMalformed: (text) => {
        if (++echoed <= ECHOED_ERRORS) console.error(`warning: ${text}`);
      },
    },
  );
  console.log(sender.hash);
  const buffer = new Uint8Array(READ_SIZE);
  while (!sender.closedByLine) {
    // Bounded memory: input waits while the server falls behind.
    await sender.whenRoom();
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    sender.push(buffer.slice(0, n));
  }
  // Whether a close line came is known once its batch is acknowledged.
  await sender.flush(closeTimeoutMs);
  const closed = sender.closedByLine;
  if (sender.malformed > ECHOED_ERRORS) {
    console.error(
      `warning: ${sender.malformed} malformed lines in all (see the run's log)`,
    );
  }
  if (!closed) {
    sender.pushMessage({
      log: "input ended without a close message",
      level: "error",
    });
  }
  await sender.close(
    closed ? { status: "finished" } : { status: "failed" },
    closeTimeoutMs,
  );
  return closed ? 0 : 1;
}
