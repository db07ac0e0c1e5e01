#!/usr/bin/env bash
# Bundles the CLI into one executable file and runs it, by its shebang, from
# an empty temporary folder with an empty Deno cache: --help (nothing may be
# downloaded) -> init -> a tracked run -> a SIGKILLed run -> reindex ->
# runs ls -> aim up (its Workers run from the same file). Proves the program
# reads nothing from the source tree, and fetches nothing, at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
deno task bundle >/dev/null
work="$(mktemp -d)"
trap 'kill "${up_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cp dist/aim.js "$work/aim"
cd "$work"
test -x ./aim || { echo "bundle smoke test: dist/aim.js is not executable"; exit 1; }
head -1 ./aim | grep -q '^#!/usr/bin/env -S deno run' || { echo "bundle smoke test: no deno shebang"; exit 1; }
export DENO_DIR="$work/deno-cache"
aim() { ./aim "$@"; }

aim --help >/dev/null
if [ -n "$(ls -A "$DENO_DIR/npm" 2>/dev/null)" ]; then
  echo "bundle smoke test: aim --help downloaded packages: $(ls "$DENO_DIR/npm"/*)"
  exit 1
fi

aim init
printf '%s\n' '{"set": "hparams", "value": {"lr": 0.01}}' '{"track": 0.5, "name": "loss"}' \
  '{"track": 0.25, "name": "loss"}' '{"close": true}' | aim track --name finished-run >/dev/null

# A writer killed by SIGKILL after its first flush must be recovered by reindex.
mkfifo feed
./aim track --name killed-run <feed >killed.out &
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
'

# aim up from the bundle: its query Workers load the same file.
./aim up --port 0 --token smoke-test-token-0123 >up.out 2>&1 &
up_pid=$!
for _ in $(seq 200); do grep -q '^open http' up.out && break; sleep 0.05; done
url="$(sed -n 's/^open \(http[^?]*\).*/\1/p' up.out)"
[ -n "$url" ] || { echo "bundle smoke test: aim up printed no URL"; cat up.out; exit 1; }
URL="$url" deno eval '
const response = await fetch(new URL("api/runs", Deno.env.get("URL")), {
  headers: { authorization: "Bearer smoke-test-token-0123" },
});
const body = await response.json();
if (response.status !== 200 || body.total !== 2) {
  console.error("bundle smoke test: aim up answered", response.status, JSON.stringify(body));
  Deno.exit(1);
}
'
kill -TERM "$up_pid"
wait "$up_pid"
echo "bundle smoke test: ok (2 runs, the SIGKILLed one recovered as crashed; aim up served them; nothing downloaded)"
