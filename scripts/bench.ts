/**
 * aim's benchmarks: `deno task bench [SECTION...]` runs the named sections,
 * or all of them, and prints one markdown table per section (figures next to
 * their baseline and target, measured side by side in one run) for
 * BENCHMARKS.md. Progress goes to stderr, tables to stdout.
 *
 * A section is a module exporting a {@linkcode Section}; add it to
 * `SECTIONS` below.
 *
 * @module
 */

import { markdownTable, type Section } from "./_bench_util.ts";

const HELP = `Usage: deno task bench [SECTION...]

Runs the named benchmark sections, or all of them, and prints one markdown
table per section.

Sections: `;

/** Sections by name, loaded only when run. */
const SECTIONS: Record<string, () => Promise<Section>> = {
  storage: async () => (await import("./bench_storage.ts")).storage,
  query: async () => (await import("./bench_query.ts")).query,
  ui: async () => (await import("./bench_ui.ts")).ui,
  track: async () => (await import("./bench_track.ts")).track,
  server: async () => (await import("./bench_server.ts")).server,
  series: async () => (await import("./bench_series.ts")).series,
  compare: async () => (await import("./bench_compare.ts")).compare,
  remote: async () => (await import("./bench_remote.ts")).remote,
  objects: async () => (await import("./bench_objects.ts")).objects,
};

/** Runs the sections named in `args` (all when none); returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP + Object.keys(SECTIONS).join(", "));
    return 0;
  }
  const unknown = args.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0) {
    console.error(
      `error: unknown section ${unknown.join(", ")}: the sections are ${
        Object.keys(SECTIONS).join(", ")
      }`,
    );
    return 2;
  }
  const names = args.length > 0 ? args : Object.keys(SECTIONS);
  console.log(
    `Measured on ${
      new Date().toISOString().slice(0, 10)
    }: deno ${Deno.version.deno}, ` +
      `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs.`,
  );
  for (const name of names) {
    const section = await SECTIONS[name]!();
    console.error(`${section.title} (${name})`);
    const start = performance.now();
    const figures = await section.run();
    const seconds = (performance.now() - start) / 1000;
    console.log(`\n### ${section.title}\n\n${markdownTable(figures)}\n`);
    console.log(
      `Reproduce with \`deno task bench ${name}\` (this section took ${
        seconds.toFixed(0)
      } s).`,
    );
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
