#!/usr/bin/env bash
# Runs every test: the Rust workspace's tests and examples, then the Python package built
# into a fresh virtual environment and its pytest suite (Ray included).
# Usage: scripts/test.sh [--locked]   (extra arguments go to cargo test)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace "$@"
# The library examples, end to end. `cargo test` built them (and the zkpot
# binary) with the workspace's features; running the built files avoids a
# second build under another feature set.
target/debug/examples/train_and_verify
target/debug/examples/train_cnn
target/debug/examples/inference

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    echo "scripts/test.sh: Python 3.9 or newer is needed for the Python tests ($python)" >&2
    exit 1
fi
venv=$(mktemp -d "${TMPDIR:-/tmp}/zkpot-venv.XXXXXX")
trap 'rm -rf "$venv"' EXIT
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# The dev profile shares target/ with the Rust build above, so the extension
# links against already-built crates instead of compiling them again.
MATURIN_PEP517_ARGS="--profile dev" CARGO_TARGET_DIR="$PWD/target" \
    "$venv/bin/python" -m pip install --quiet "./python[test]"
export ZKPOT_BIN="$PWD/target/debug/zkpot"
cd python
"$venv/bin/pytest" -q tests
