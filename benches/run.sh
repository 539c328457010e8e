#!/usr/bin/env bash
# The pipeline benchmark with its naive floor, in one command:
#
#     benches/run.sh [FEEDS] [ITEMS] [RUNS] [RSS_PASSES]      (defaults: 10000 20 3 10)
#
# Installs feedparser with pip into a venv under the cargo target folder (once), then runs
# `cargo bench --bench pipeline` with BENCH_FLOOR pointing at benches/floor.py, so storywatch
# and the floor make the same passes against the same loopback server in one run. The table of
# medians at the end is what BENCHMARKS.md records. Without pip (CI), run the bench alone:
# `BENCH_FEEDS=50 BENCH_ITEMS=5 cargo bench --bench pipeline`.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
venv="$target/bench-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import feedparser' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet feedparser
fi

export BENCH_FEEDS=${1:-10000}
export BENCH_ITEMS=${2:-20}
export BENCH_RUNS=${3:-3}
export BENCH_RSS_PASSES=${4:-10}
export BENCH_FLOOR="$(cd "$venv" && pwd)/bin/python $PWD/benches/floor.py"
exec cargo bench --bench pipeline
