#!/usr/bin/env bash
# Scripted REPL sessions:
#  1. session.txt (no model): output and diagnostics match the golden files;
#     with --keep-going errors do not end the session (exit status 1: some
#     entries failed).
#  2. With a model: values of fields and derivatives at points, from the REPL
#     and from the compiled program's eval on the same checkpoint, agree to
#     1e-12; a :train command lowers the loss.
set -u
physc=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
note() { echo "$*"; }

# 1
"$physc" repl --keep-going < "$here/session.txt" > "$work/out" 2> "$work/err"
status=$?
if [ $status -ne 1 ]; then note "FAIL session: exit status $status, expected 1"; fail=$((fail + 1)); fi
if ! diff -u "$here/session.expected" "$work/out"; then note "FAIL session output"; fail=$((fail + 1)); fi
if ! diff -u "$here/session.errors" "$work/err"; then note "FAIL session diagnostics"; fail=$((fail + 1)); fi

# 2
cd "$work" || exit 1
cp "$here/models/cooling.phys" .
"$physc" cooling.phys -o cooling || { note "FAIL compiling cooling.phys"; exit 1; }
./cooling train --steps 40 --quiet --threads 1 || { note "FAIL training"; exit 1; }
points="0.25:0.5 0.7:0.1 0.9:0.95"
for p in $points; do
  x=${p%:*} t=${p#*:}
  ./cooling eval x=$x t=$t 'd(u,x)' 'd(u,t)' 'd(u,x,x)' 'd(u,x,t)' 'd(w,x)' | tail -n 1
done > exe.csv
{
  for p in $points; do
    x=${p%:*} t=${p#*:}
    echo "u($x, $t), w($x), d(u, x)($x, $t), d(u, t)($x, $t), d(u, x, x)($x, $t), d(u, x, t)($x, $t), d(w, x)($x)"
  done
} > agree.txt
"$physc" repl cooling.phys < agree.txt > repl.out 2> repl.err || { note "FAIL repl run"; cat repl.err; fail=$((fail + 1)); }
# exe columns: x,t,u,w,d(u,x),d(u,t),d(u,x,x),d(u,x,t),d(w,x); repl: u,w,...
paste -d, exe.csv <(sed 's/ //g' repl.out | grep -v '^loaded') | awk -F, '
  function rel(a, b) { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); if (m < 1) m = 1; return d / m }
  { n = 0; for (k = 3; k <= 9; k++) { e = rel($k, $(k + 7)); if (e > worst) worst = e; n++ } rows++ }
  END { printf "repl vs compiled eval: %d points, worst relative difference %.3g\n", rows, worst;
        exit !(rows == 3 && worst <= 1e-12) }' || { note "FAIL repl and compiled eval disagree"; fail=$((fail + 1)); }

printf ':train 1\n:train 150\n' | "$physc" repl cooling.phys > train.out 2>&1
losses=$(grep -o 'loss [0-9.e+-]*' train.out | awk '{print $2}')
first=$(sed -n 1p <<<"$losses") last=$(sed -n 2p <<<"$losses")
if [ -z "$first" ] || [ -z "$last" ] || ! awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a / 2) }'; then
  note "FAIL :train did not lower the loss: $first -> $last"; cat train.out; fail=$((fail + 1))
else
  note "ok   :train lowered the loss from $first to $last"
fi
printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
