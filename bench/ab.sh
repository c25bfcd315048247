#!/usr/bin/env bash
# Alternating A/B runs of two commands that each print one figure, for changes too small to see in one run
# on a shared machine. It runs N pairs, with A first in odd pairs and B first in even ones. It prints each
# figure (and the "user … ms, sys … ms" CPU line when the command prints one), then the median of each
# side and how many pairs B won (B's figure higher).
#
#   PAT='put/s' bash bench/ab.sh N "command A" "command B"
#
# PAT is the unit that follows the figure in the commands' output (default "put/s"; bench/repro.js prints
# "put/s" for small PUTs and "B/s" for large ones); the first "<number> <PAT>" of each output is taken.
# A run whose output has no such figure stops the comparison with its output.
#
# Example (docs/PERFORMANCE.md): a scratch copy of dist/ whose constant is read from the environment:
#   PAT='B/s' bash bench/ab.sh 6 "node VAR/dist/bench/repro.js large random 16" "X=1 node VAR/dist/bench/repro.js large random 16"
set -euo pipefail

if [ $# -ne 3 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: PAT='put/s' bash bench/ab.sh PAIRS \"command A\" \"command B\"" >&2
  exit 2
fi
pairs=$1
cmd_a=$2
cmd_b=$3
pat=${PAT:-put/s}

figures_a=()
figures_b=()
b_wins=0

# Runs one side and prints its figure; exits with the output if there is none.
run_one() {
  local out figure
  out=$(bash -c "$1" 2>&1) || true
  figure=$(printf '%s\n' "$out" | grep -oE "[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)? ${pat}" | head -1 | cut -d' ' -f1 || true)
  if [ -z "$figure" ]; then
    printf 'no "<number> %s" in the output of: %s\n%s\n' "$pat" "$1" "$out" >&2
    exit 1
  fi
  printf '%s\t%s\n' "$figure" "$(printf '%s\n' "$out" | grep -oE 'user [0-9]+ ms \+? ?sys [0-9]+ ms|user [0-9]+ ms, sys [0-9]+ ms' | head -1 || true)"
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; if (m == int(m)) printf "%d\n", m; else printf "%.2f\n", m }'
}

for i in $(seq 1 "$pairs"); do
  if (( i % 2 )); then order="A B"; else order="B A"; fi
  for side in $order; do
    if [ "$side" = A ]; then line=$(run_one "$cmd_a"); else line=$(run_one "$cmd_b"); fi
    figure=${line%%$'\t'*}
    echo "$i $side $figure (${line#*$'\t'})"
    if [ "$side" = A ]; then figures_a+=("$figure"); a=$figure; else figures_b+=("$figure"); b=$figure; fi
  done
  if awk -v a="$a" -v b="$b" 'BEGIN { exit !(b > a) }'; then b_wins=$((b_wins + 1)); fi
done
echo "median A $(median "${figures_a[@]}")  median B $(median "${figures_b[@]}")  B ahead in $b_wins of $pairs"
