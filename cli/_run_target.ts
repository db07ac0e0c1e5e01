/**
 * Where `aim run` records: a run in a repository it writes itself, or a
 * run on `aim up` (`--remote`) that it feeds over HTTP. Both take the same
 * calls, so supervising the child is written once.
 *
 * @module
 */

import { ECHOED_ERRORS } from "./_args.ts";
import type { Context, Ending, ParamValue, Run } from "../lib/mod.ts";
import { Ingester } from "../lib/tracking/mod.ts";
import type { RemoteSender } from "./_remote.ts";

/** What `aim run` records into. */
export interface RunTarget {
  readonly hash: string;
  /** What the child gets as `AIM_REPO`: the repository's path, or the server's URL. */
  readonly repo: string;
  set(key: string, value: ParamValue): void;
  log(text: string, level: string, time?: number): void;
  track(value: number, options: { name: string; context: Context }): void;
  /** Stores (local) what is buffered now; a no-op for a remote run, which sends continuously. */
  flush(): void;
  /** A chunk of the child's tracking pipe (protocol lines cut anywhere); waits while too much is queued. */
  feed(chunk: Uint8Array): Promise<void> | void;
  /** The tracking pipe is done; returns how many malformed lines it held. */
  endFeed(): number;
  /** Ends the run; an `AimError` says what could not be stored. */
  finish(ending: Ending): Promise<void>;
}

/** A local run, written by this process. */
export class LocalTarget implements RunTarget {
  readonly #run: Run;
  readonly #ingester: Ingester;
  readonly repo: string;

  /** `onStorageError` hears of a line that could not be stored; reading goes on. */
  constructor(
    run: Run,
    repo: string,
    onStorageError: (error: unknown) => void,
  ) {
    this.#run = run;
    this.repo = repo;
    this.#ingester = new Ingester(run, {
      stopAtClose: false,
      // The command runs on this machine: its images may come as files.
      allowPaths: true,
      onError: onStorageError,
      onMalformed: (text, count) => {
        if (count <= ECHOED_ERRORS) {
          console.error(`aim run: warning: tracking pipe ${text}`);
        }
      },
    });
  }

  get hash(): string {
    return this.#run.hash;
  }

  set(key: string, value: ParamValue): void {
    this.#run.set(key, value);
  }

  log(text: string, level: string, time?: number): void {
    this.#run.log(text, level, time);
  }

  track(value: number, options: { name: string; context: Context }): void {
    this.#run.track(value, options);
  }

  flush(): void {
    this.#run.flush();
  }

  feed(chunk: Uint8Array): void {
    this.#ingester.push(chunk);
  }

  endFeed(): number {
    return this.#ingester.end().malformed;
  }

  finish(ending: Ending): Promise<void> {
    this.#run.finalize(ending);
    return Promise.resolve();
  }
}

/** A run on `aim up`, fed over HTTP. */
export class RemoteTarget implements RunTarget {
  readonly #sender: RemoteSender;
  readonly #closeTimeoutMs: number;
  readonly repo: string;

  /** Feeds `sender`'s run; ending it waits at most `closeTimeoutMs`. */
  constructor(sender: RemoteSender, url: string, closeTimeoutMs: number) {
    this.#sender = sender;
    this.#closeTimeoutMs = closeTimeoutMs;
    this.repo = url;
  }

  get hash(): string {
    return this.#sender.hash;
  }

  set(key: string, value: ParamValue): void {
    this.#sender.pushMessage({ set: key, value });
  }

  log(text: string, level: string, time?: number): void {
    this.#sender.pushMessage({
      log: text,
      level,
      ...(time !== undefined ? { time } : {}),
    });
  }

  track(value: number, options: { name: string; context: Context }): void {
    this.#sender.pushMessage({
      track: value,
      name: options.name,
      context: options.context,
    });
  }

  flush(): void {}

  async feed(chunk: Uint8Array): Promise<void> {
    // The child waits on a full pipe rather than memory growing without end.
    await this.#sender.whenRoom();
    this.#sender.push(chunk);
  }

  endFeed(): number {
    return this.#sender.malformed;
  }

  finish(ending: Ending): Promise<void> {
    return this.#sender.close(ending, this.#closeTimeoutMs);
  }
}
