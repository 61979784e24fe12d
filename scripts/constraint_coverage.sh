#!/usr/bin/env bash
# Constraint coverage: switch off each gate and lookup argument the project
# defines (the lists in circuits/src/chips/constraints.rs), one at a time, and
# run the circuits crate's tests; a constraint is caught when some test fails
# without it (its negative tests expect a failure that no longer comes).
# Prints a Markdown table and exits 1 if any constraint is caught by no test.
#
# Usage: scripts/constraint_coverage.sh [--locked]
set -euo pipefail
cd "$(dirname "$0")/.."
locked=()
if [[ "${1:-}" == "--locked" ]]; then
    locked=(--locked)
fi
test_cmd=(cargo test -p zkpot-circuits --features coverage --lib "${locked[@]}")

mapfile -t names < <(
    sed -n '/^pub const GATES/,/^];/p; /^pub const LOOKUPS/p' circuits/src/chips/constraints.rs |
        grep -o '"[^"]*"' | tr -d '"'
)
if [[ ${#names[@]} -eq 0 ]]; then
    echo "no constraint names found in circuits/src/chips/constraints.rs" >&2
    exit 2
fi

"${test_cmd[@]}" --no-run -q 2>/dev/null || "${test_cmd[@]}" --no-run
# With nothing switched off every test passes.
if ! "${test_cmd[@]}" -q >/dev/null 2>&1; then
    echo "the circuits crate's tests fail with every constraint on" >&2
    exit 2
fi

echo "| constraint | caught | tests that fail without it |"
echo "|---|---|---|"
missed=0
for name in "${names[@]}"; do
    out=$(ZKPOT_DISABLE_CONSTRAINT="$name" "${test_cmd[@]}" 2>&1 || true)
    failing=$(grep -E '^test .* \.\.\. FAILED$' <<<"$out" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' || true)
    count=$(grep -c . <<<"$failing" || true)
    if [[ -z "$failing" ]]; then
        echo "| \`$name\` | **no** | none |"
        missed=$((missed + 1))
    else
        shown=$(head -n 3 <<<"$failing" | sed -E 's/.*:://' | paste -sd ',' | sed 's/,/, /g')
        more=""
        if [[ $count -gt 3 ]]; then
            more=", and $((count - 3)) more"
        fi
        echo "| \`$name\` | yes | $count: $shown$more |"
    fi
done
total=${#names[@]}
echo
echo "$((total - missed)) of $total constraints caught"
[[ $missed -eq 0 ]]
