#!/usr/bin/env bash
# Bundles the CLI into one file and runs it from an empty temporary folder:
# init -> a tracked run -> a SIGKILLed run -> reindex -> runs ls. Proves the
# program reads nothing from the source tree at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
deno task bundle >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp dist/aim.js "$work/aim.js"
cd "$work"
aim() { deno run --allow-all ./aim.js "$@"; }

aim init
printf '%s\n' '{"set": "hparams", "value": {"lr": 0.01}}' '{"track": 0.5, "name": "loss"}' \
  '{"track": 0.25, "name": "loss"}' '{"close": true}' | aim track --name finished-run >/dev/null

# A writer killed by SIGKILL after its first flush must be recovered by reindex.
mkfifo feed
deno run --allow-all ./aim.js track --name killed-run <feed >killed.out &
pid=$!
exec 3>feed
printf '%s\n' '{"track": 1, "name": "loss"}' '{"track": 2, "name": "loss"}' >&3
for _ in $(seq 100); do [ -s killed.out ] && break; sleep 0.05; done
sleep 2 # the writer flushes at least every second; leave room for a loaded machine
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
exec 3>&-

aim status
aim reindex | tee reindex.out
grep -q "indexed 1 of 1 runs (1 crashed)" reindex.out
aim runs ls --json >runs.json
deno eval '
const runs = JSON.parse(Deno.readTextFileSync("runs.json"));
const byName = Object.fromEntries(runs.map((r) => [r.name, r]));
const ok = runs.length === 2 && byName["finished-run"].status === "finished" &&
  byName["finished-run"].metrics[0].count === 2 && byName["killed-run"].status === "crashed" &&
  byName["killed-run"].metrics[0].count === 2 && runs.every((r) => r.indexed);
if (!ok) { console.error("bundle smoke test: unexpected runs", JSON.stringify(runs, null, 1)); Deno.exit(1); }
console.log("bundle smoke test: ok (2 runs, the SIGKILLed one recovered as crashed)");
'
