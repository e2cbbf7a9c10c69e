#!/usr/bin/env bash
# physc --check accepts every example and library module and prints nothing.
set -u
physc=$1
root=$2
fail=0 pass=0
for model in "$root"/examples/*.phys "$root"/stdlib/*.phys; do
  out=$("$physc" --check --stdlib "$root/stdlib" "$model" 2>&1); status=$?
  if [ $status -ne 0 ] || [ -n "$out" ]; then
    printf 'FAIL %s (status %d):\n%s\n' "$model" "$status" "$out"; fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done
printf '%d passed, %d failed\n' "$pass" "$fail"
[ $fail -eq 0 ]
