/**
 * `aim init`: create a repository.
 *
 * @module
 */

import { parse } from "./_args.ts";
import { initRepo } from "../lib/storage/mod.ts";

const HELP = `Usage: aim init [--repo PATH]

Creates an aim repository: PATH itself when it ends in .aim, else PATH/.aim
(default: ./.aim). Running it on an existing repository changes nothing.`;

/** `aim init`. */
export function init(args: string[]): number {
  const { values } = parse("aim init", args, {});
  if (values.help) return (console.log(HELP), 0);
  const { path, created } = initRepo(
    values.repo ?? Deno.env.get("AIM_REPO") ?? ".",
  );
  console.log(
    created
      ? `Initialized an aim repository in ${path}`
      : `An aim repository already exists in ${path}`,
  );
  return 0;
}
