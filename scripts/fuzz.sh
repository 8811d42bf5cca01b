#!/usr/bin/env bash
# The project's fuzzers (docs/fuzzing.md).
#
#   scripts/fuzz.sh --short           what CI runs: the differential fuzzer for
#                                     WASMNF_DIFF_SECONDS (default 120) with
#                                     today's seed, the regression modules
#                                     through all three engines, then every
#                                     cargo-fuzz target for
#                                     WASMNF_FUZZ_SECONDS (default 30) each
#   scripts/fuzz.sh --long HOURS      the same, HOURS for the differential
#                                     fuzzer and for each target
#
# Findings: the differential fuzzer saves each module it disagrees on as
# fuzz/findings/finding-SEED-N.wasm and exits 1; cargo-fuzz saves crashes in
# fuzz/artifacts/TARGET/. Every finding becomes a tests/regress/ module.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/fuzz"
step() { printf '\n=== %s\n' "$*" >&2; }
case ${1:-} in
--short) diff_s=${WASMNF_DIFF_SECONDS:-120} target_s=${WASMNF_FUZZ_SECONDS:-30} ;;
--long) diff_s=$((${2:?--long HOURS} * 3600)) target_s=$diff_s ;;
*) echo "usage: $0 --short | --long HOURS" >&2; exit 2 ;;
esac
export PATH=$HOME/.cargo/bin:$PATH

step "differential fuzzer: build (wasmtime, wasm-smith; cached after the first build)"
cargo build --release --locked -q -p wasmnf-difffuzz
diff=$ROOT/fuzz/target/release/wasmnf-difffuzz
step "differential fuzzer: the regression modules on the engine, wasmtime and wasmi"
"$diff" --replay "$ROOT"/tests/regress/*.wat
seed=${WASMNF_FUZZ_SEED:-$(date +%Y%m%d)}
mkdir -p findings
step "differential fuzzer: $diff_s s, seed $seed"
"$diff" --seconds "$diff_s" --seed "$seed" --save findings

step "cargo-fuzz targets, $target_s s each"
if ! command -v cargo-fuzz >/dev/null; then
	(cd / && cargo install cargo-fuzz --version 0.13.2 --locked --quiet)
fi
# cargo-fuzz needs nightly options (sanitizers); the pinned stable toolchain
# accepts them with RUSTC_BOOTSTRAP, as for the kernel build.
export RUSTC_BOOTSTRAP=1
for t in $(cargo fuzz list); do
	mkdir -p "corpus/$t"
	log=$(mktemp)
	rc=0
	cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$target_s" -rss_limit_mb=4096 >"$log" 2>&1 || rc=$?
	grep -E '^(#[0-9]+.*DONE|Done|==[0-9]+==|SUMMARY|artifact_prefix)|panicked at' "$log" | sed "s/^/[$t] /" || true
	if [ $rc -ne 0 ]; then
		tail -n 40 "$log" >&2
		echo "fuzz: target $t failed (exit $rc; the input is saved in fuzz/artifacts/$t/)" >&2
		exit 1
	fi
	rm -f "$log"
done
echo "fuzz: no findings"
