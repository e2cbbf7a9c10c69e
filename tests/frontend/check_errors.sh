#!/usr/bin/env bash
# Runs physc --check on every errors/*.phys and compares what it prints with
# the golden errors/NAME.expected. Every case must exit with status 1 (an
# error in the model: never a crash, never success), print file:line:col on
# its first line, and match its golden file exactly.
# Usage: check_errors.sh PHYSC CASES_DIR [--update]
set -u
physc=$1
dir=$2
update=${3:-}
cd "$dir" || exit 2
pass=0 fail=0
for model in *.phys; do
  name=${model%.phys}
  got=$("$physc" --check --stdlib ../../../stdlib "$model" 2>&1 >/dev/null)
  status=$?
  if [ "$update" = --update ]; then
    printf '%s\n' "$got" > "$name.expected"
  fi
  problem=""
  if [ $status -ne 1 ]; then
    problem="exit status $status, expected 1"
  elif ! head -n 1 <<<"$got" | grep -qE "^$model:[0-9]+:[0-9]+: error: "; then
    problem="first line is not '$model:line:col: error: ...'"
  elif [ ! -f "$name.expected" ]; then
    problem="no golden file $name.expected"
  elif ! diff -u "$name.expected" <(printf '%s\n' "$got") >/dev/null; then
    problem="output differs from $name.expected:"$'\n'"$(diff -u "$name.expected" <(printf '%s\n' "$got"))"
  fi
  if [ -n "$problem" ]; then
    fail=$((fail + 1))
    printf 'FAIL %s: %s\n' "$model" "$problem"
  else
    pass=$((pass + 1))
  fi
done
printf '%d passed, %d failed\n' "$pass" "$fail"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
