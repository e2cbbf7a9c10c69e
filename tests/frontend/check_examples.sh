#!/usr/bin/env bash
# physc --check accepts every example and library module and prints
# nothing (every example ships its data; missing() lists what an example
# may read without the repository holding it: warnings about exactly those),
# and exit status 0.
set -u
physc=$1
root=$2
fail=0 pass=0
missing() { # the files an example reads that the repository does not hold
  case $(basename "$1") in
    none.phys) echo "" ;;
  esac
}
for model in "$root"/examples/*.phys "$root"/stdlib/*.phys; do
  out=$("$physc" --check --stdlib "$root/stdlib" "$model" 2>&1); status=$?
  rest=$(grep -v -e "^$model:[0-9]*:[0-9]*: warning: [a-z ]* '[a-z_]*\.csv' not found" -e '^  ' <<<"$out")
  problem=""
  for f in $(missing "$model"); do
    grep -q "warning: [a-z ]* '$f' not found (looked for $(dirname "$model")/$f)\$" <<<"$out" ||
      problem="no warning about the missing $f"
  done
  warned=$(grep -c ': warning: ' <<<"$out")
  if [ $status -ne 0 ] || [ -n "$rest" ] || [ -n "$problem" ] || [ "$warned" -ne "$(missing "$model" | wc -w)" ]; then
    printf 'FAIL %s (status %d) %s:\n%s\n' "$model" "$status" "$problem" "$out"; fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done
printf '%d passed, %d failed\n' "$pass" "$fail"
[ $fail -eq 0 ]
