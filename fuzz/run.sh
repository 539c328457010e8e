#!/usr/bin/env bash
# Runs the fuzz targets for a bounded time each (not part of CI):
#
#   fuzz/run.sh                    # every target, FUZZ_SECONDS (default 300) each
#   FUZZ_SECONDS=60 fuzz/run.sh html_to_text
#
# feed_items: feed bytes -> parse_feed -> checks on every normalized item; html_to_text: text ->
# html_to_text and normalize_text -> checks on the text (the checks: fuzz/invariants.rs).
# Each corpus (fuzz/corpus/TARGET) is seeded from the feed files in tests/fixtures/, the hostile
# cases and the regression fixtures, and keeps what the fuzzer adds from run to run.
# Exits nonzero when a target crashed, after every target has run, and says for each crash
# where its input is and how to make it a fixture in tests/fixtures/fuzz/.
#
# Settings (environment): FUZZ_SECONDS per target; FUZZ_TIMEOUT, seconds one input may take
# before it counts as a hang (default 10); FUZZ_SANITIZER (default none: storywatch forbids
# unsafe code, and on a small shared machine twice the executions find more than AddressSanitizer
# would; "address" turns it on); CARGO_TARGET_DIR as for cargo (default fuzz/target).
# cargo-fuzz needs nightly compiler flags: RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
set -euo pipefail
cd "$(dirname "$0")"
fuzz_dir=$PWD
fixtures=$fuzz_dir/../tests/fixtures

seconds=${FUZZ_SECONDS:-300}
timeout=${FUZZ_TIMEOUT:-10}
sanitizer=${FUZZ_SANITIZER:-none}
target_dir=${CARGO_TARGET_DIR:-$fuzz_dir/target}
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(feed_items html_to_text); fi
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

build=(--sanitizer "$sanitizer" --target-dir "$target_dir")
cargo fuzz build "${build[@]}"
failed=()
for target in "${targets[@]}"; do
    corpus=corpus/$target
    artifacts=artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    # A seed already in the corpus is left as it is, and so is all the fuzzer added.
    for seed in "$fixtures"/*.xml "$fixtures"/*.json "$fixtures"/*.html "$fixtures"/hostile/* \
        "$fixtures"/fuzz/"$target"-*; do
        if [ -f "$seed" ] && [ ! -e "$corpus/${seed##*/}" ]; then cp "$seed" "$corpus/"; fi
    done
    log=$artifacts/last-run.log
    echo "== $target: ${seconds}s, corpus $fuzz_dir/$corpus, log $fuzz_dir/$log" >&2
    status=0
    cargo fuzz run "${build[@]}" "$target" "$corpus" -- \
        -max_total_time="$seconds" -timeout="$timeout" -dict=feed.dict \
        -artifact_prefix="$artifacts/" -print_final_stats=1 2>&1 | tee "$log" >&2 ||
        status=$?
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" >&2 || true
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        input=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -n 1 | cut -d' ' -f5)
        input=${input:-ARTIFACT}
        cat >&2 <<EOF

!! $target failed (exit $status); the input is $fuzz_dir/$input (the log: $fuzz_dir/$log)
   Reproduce:  cd $fuzz_dir && RUSTC_BOOTSTRAP=1 cargo fuzz run ${build[*]} $target $input
   Minimize:   cd $fuzz_dir && RUSTC_BOOTSTRAP=1 cargo fuzz tmin ${build[*]} $target $input
               (writes artifacts/$target/minimized-from-...)
   Fixture:    copy the minimized input (or a readable file that fails the same way) to
               tests/fixtures/fuzz/$target-WHAT-IT-SHOWS.EXT, fix the bug, and run
               cargo test --test it fuzz_regressions   (it checks every file there)
EOF
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzzing: no crash in ${targets[*]} (${seconds}s each)" >&2
