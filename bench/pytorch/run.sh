#!/usr/bin/env bash
# Tessera against PyTorch's eager CPU training (dev.tessera.bench.PyTorchBenchmark, docs/performance.md).
# PyTorch is a benchmark dependency only: this script installs its CPU build with pip into its own
# virtual environment (bench/pytorch/.venv, or $VENV), never into the build. It uses local wheel
# mirrors when the machine has them (/opt/wheels, /opt/pypi/files, /opt/pypi-more/files), else
# PyTorch's CPU index, else plain PyPI. Arguments go to the benchmark: [threads] [repeats] [models] [text file].
#   bench/pytorch/run.sh 1 7 mlp,gpt-addition,gpt-text
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/bench/pytorch/.venv}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
cd "$ROOT"

if ! "$VENV/bin/python" -c 'import torch, numpy' 2>/dev/null; then
  python3 -m venv "$VENV"
  mirrors=()
  for dir in /opt/wheels /opt/pypi/files /opt/pypi-more/files; do
    [[ -d "$dir" ]] && mirrors+=(--find-links "$dir")
  done
  if [[ ${#mirrors[@]} -gt 0 ]]; then
    PIP_CONFIG_FILE=/dev/null "$VENV/bin/pip" install --no-index "${mirrors[@]}" "torch==${TORCH_VERSION}+cpu" numpy
  elif ! "$VENV/bin/pip" install --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}" numpy; then
    "$VENV/bin/pip" install "torch==${TORCH_VERSION}" numpy
  fi
fi

./mvnw -B -q -pl bench -am package -DskipTests
# The JVM flags of every Tessera JVM (the Vector API module, ND4J's and Aeron's opens), defined once in the parent pom.
jvm_flags="$(sed -n 's:.*<tessera.jvm.flags>\(.*\)</tessera.jvm.flags>.*:\1:p' pom.xml | head -n 1)"
# shellcheck disable=SC2086 # the flags are a space-separated list by design
exec java $jvm_flags -Xmx4g \
  -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/bench.classpath)" \
  dev.tessera.bench.PyTorchBenchmark "$VENV/bin/python" "$@"
