#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs to run and test the sidecar:
# a real Jupyter Server (Debian's /usr/bin/python3), the libraries realistic model code uses,
# Chromium for the browser tests (no test tool downloads a browser), PostgreSQL (tests start
# throwaway clusters of their own; the service Debian starts is not used), Prometheus's promtool
# (test/e2e/metrics.test.ts checks /metrics with it; 19 MB), the npm packages, and a Node 22 binary
# from the npm registry (the MCP conformance suite in test/e2e/mcp-conformance.test.ts needs 22+).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=(python3-jupyter-server python3-ipykernel python3-nbclient python3-pandas python3-openpyxl python3-odf python3-xlwt python3-matplotlib python3-reportlab python3-docx python3-yaml python3-jinja2 chromium unzip postgresql prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
fi

npm ci --no-audit --no-fund
# Cached outside the repo (~/.cache/generated-files-sidecar/node); prints the binary's path.
bash scripts/node-binary.sh 22
