#!/usr/bin/env bash
# Fuzzes urne's decoders: every target (or those named) for SECONDS each.
#
#   crypto/fuzz/run.sh [SECONDS] [TARGET...]     # SECONDS defaults to $FUZZ_SECONDS or 20
#
# FUZZ_SANITIZER=none builds without AddressSanitizer (the default is address):
# a lighter build that still finds panics, hangs and out-of-memory inputs, as CI
# runs it. FUZZ_TARGET_DIR puts the build elsewhere than crypto/fuzz/target.
#
# Each target first writes its seeds (generated from the fixture election and
# specs/vectors/) into corpus/TARGET/, then libFuzzer runs on that corpus.
# A crashing, hanging or out-of-memory input is kept in crashes/TARGET/;
# the script goes on with the other targets and exits 1 if any failed.
# Reproduce one with: cd crypto && RUSTC_BOOTSTRAP=1 cargo fuzz run -a TARGET FILE
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
seconds="${1:-${FUZZ_SECONDS:-20}}"
[ $# -gt 0 ] && shift
export RUSTC_BOOTSTRAP=1
target_dir="${FUZZ_TARGET_DIR:-$here/target}"
sanitizer="${FUZZ_SANITIZER:-address}"
build=(-a -s "$sanitizer" --target-dir "$target_dir")
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
echo "fuzz: building ${#targets[@]} targets (sanitizer $sanitizer)"
cargo fuzz build "${build[@]}" || exit 1
failed=()
summary=""
for t in "${targets[@]}"; do
    corpus="$here/corpus/$t"
    crashes="$here/crashes/$t"
    log="$target_dir/fuzz-$t.log"
    mkdir -p "$corpus" "$crashes"
    echo "fuzz: $t for ${seconds}s"
    if URNE_FUZZ_SEEDS="$corpus" cargo fuzz run "${build[@]}" "$t" "$corpus" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$t")
        tail -n 40 "$log"
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    summary+=$(printf '%-11s %-6s %10s runs %7s exec/s  %s' "$t" "$status" "${runs:-?}" "${rate:-?}" "${cov:-}")$'\n'
done
printf '\n%s' "$summary"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (inputs in $here/crashes/)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
