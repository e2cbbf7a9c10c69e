#!/usr/bin/env bash
# Imported modules: every declaration of a module is checked and lowered
# like the model's own (a model whose equation and initial condition come
# from a module trains on both), and what only a model may declare is
# refused by name at the module's line.
# Usage: check_imports.sh PHYSC SOURCE_ROOT
set -u
physc=$1
dir=$2/tests/frontend/imports
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$dir" || exit 2

out=$("$physc" --check --stdlib lib uses_heat.phys 2>&1) ||
  { echo "FAIL uses_heat.phys does not check: $out"; fail=$((fail + 1)); }
if "$physc" --stdlib lib uses_heat.phys -o "$tmp/rod" 2>"$tmp/err"; then
  "$tmp/rod" train --steps 3 --checkpoint "$tmp/rod.ckpt" >"$tmp/train" 2>&1 ||
    { echo "FAIL the model with imported terms does not train:"; cat "$tmp/train"; fail=$((fail + 1)); }
  grep -q "heat .*start " "$tmp/train" ||
    { echo "FAIL training does not show the module's terms heat and start:"; cat "$tmp/train"; fail=$((fail + 1)); }
else
  echo "FAIL uses_heat.phys does not compile:"; cat "$tmp/err"; fail=$((fail + 1))
fi

got=$("$physc" --check --stdlib lib uses_bad.phys 2>&1 >/dev/null); status=$?
[ $status -eq 1 ] || { echo "FAIL uses_bad.phys: exit status $status, expected 1"; fail=$((fail + 1)); }
diff -u uses_bad.expected <(printf '%s\n' "$got") ||
  { echo "FAIL uses_bad.phys: output differs from uses_bad.expected"; fail=$((fail + 1)); }

printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
