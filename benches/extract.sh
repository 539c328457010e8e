#!/usr/bin/env bash
# Extraction time per page, storywatch beside Python trafilatura, in one run:
#
#     benches/extract.sh [RUNS]        (default 5 timed runs of each page)
#
# Installs trafilatura with pip into a venv under the cargo target folder (once), then runs
# `cargo bench --bench extract` with BENCH_FLOOR pointing at benches/extract_floor.py.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
venv="$target/extract-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import trafilatura" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet trafilatura lxml_html_clean
fi
export BENCH_RUNS=${1:-5}
export BENCH_FLOOR="$(cd "$venv" && pwd)/bin/python $PWD/benches/extract_floor.py"
exec cargo bench --bench extract
