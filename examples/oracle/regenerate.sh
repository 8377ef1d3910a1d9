#!/usr/bin/env bash
# Rewrites every PyTorch fixture under examples/src/test/resources/oracle: for each fixture
# folder, `tessera export` of its run.conf, then pytorch_oracle.py on the export. Not part of the
# build or of CI; run it when a model, a data source or an initialiser changes on purpose, and
# commit the new fixtures with that change.
#   PYTHON=/path/to/venv/bin/python examples/oracle/regenerate.sh [fixture ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
FIXTURES="$ROOT/examples/src/test/resources/oracle"
if ! "$PYTHON" -c 'import torch, safetensors' 2>/dev/null; then
  echo "error: $PYTHON cannot import torch and safetensors; install examples/oracle/requirements.txt into a" \
       "virtual environment and set PYTHON to its python (see examples/oracle/README.md)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  names=()
  for dir in "$FIXTURES"/*/; do names+=("$(basename "$dir")"); done
fi
for name in "${names[@]}"; do
  conf="$FIXTURES/$name/run.conf"
  steps="$(sed -n 's/.*steps *= *\([0-9][0-9]*\).*/\1/p' "$conf" | head -n 1)"
  "$ROOT/tessera" export "$conf" --steps "$steps" --out "$work/$name"
  (cd "$ROOT" && "$PYTHON" examples/oracle/pytorch_oracle.py "$work/$name" "$FIXTURES/$name")
  chmod 644 "$FIXTURES/$name"/*
done
