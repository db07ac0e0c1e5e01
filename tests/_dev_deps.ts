/**
 * The packages only the tests and benchmarks use: fast-check (property
 * tests) and playwright-core (the web UI's tests drive Chromium with it).
 *
 * They are imported here by version rather than through deno.json's import
 * map, and locked in dev.lock rather than deno.lock: Deno fetches every npm
 * package of a project's lock file the first time any of its programs runs
 * (`deno task` too, before its command), so with these in deno.lock the
 * first `aim --help` (and `deno task install`) downloaded 22 MB that aim
 * never loads. `deno task test`, `deno task ok` and `deno task bench` pass
 * `--lock=dev.lock`. deno.json freezes the lock files, so a plain
 * `deno test` or `deno check` of the tests fails ("lockfile is out of
 * date") instead of writing these into deno.lock; to change a version
 * here, run `deno cache --lock=dev.lock --frozen=false tests/_dev_deps.ts`.
 *
 * @module
 */

export { default as fc } from "npm:fast-check@^4.0.0";
export { chromium } from "npm:playwright-core@^1.65.1";
export type { Browser, Page, Request } from "npm:playwright-core@^1.65.1";
