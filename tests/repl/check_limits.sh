#!/usr/bin/env bash
# REPL entries beyond the fixed sizes and depths of the back end: each gives
# a value or a diagnostic, the session goes on (--keep-going; exit status 1
# since some entries fail), and nothing crashes or hangs.
#  1. 70 field evaluations in one entry (more than 64 probes);
#  2. 72 derivative evaluations of a 16-output field (more than 1024 stream
#     pointers);
#  3. expressions nested 2040 deep (the parser's limit), through calls and
#     right-associative powers;
#  4. let definitions that inline to an expression deeper than lowering
#     allows: a diagnostic;
#  5. a vector of 100 numbers (above the 64 elements tensors once held):
#     its dot product; one of 4097, above MAX_ELEMENTS: a diagnostic;
#  6. :reset, and end of input inside an open parenthesis.
set -u
physc=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
n=2040
nest() { # nest PREFIX INNER SUFFIX COUNT
  local s="" e="" i
  for ((i = 0; i < $4; i++)); do s+=$1; e+=$3; done
  printf '%s%s%s\n' "$s" "$2" "$e"
}
{
  echo 'field u(x, t) = mlp(hidden = [4], activation = tanh)'
  for ((i = 0; i < 70; i++)); do printf 'u(0.%02d, 0.5), ' "$i"; done; echo '1'
  echo 'field v(x, y): vector[16] = mlp(hidden = [4], activation = tanh, outputs = 16)'
  for p in 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9; do
    for d in '' ', x' ', y' ', x, x' ', x, y' ', y, y' ', x, x, x' ', x, x, y'; do
      if [ -z "$d" ]; then printf 'v(%s, 0.5)[0], ' "$p"; else printf 'd(v%s)(%s, 0.5)[15], ' "$d" "$p"; fi
    done
  done; echo '2'
  nest 'sin(' '0.5' ')' $n
  nest '2^' '1' '' $n
  echo "let a1 = $(nest 'sin(' '0.5' ')' 2000)"
  for k in 2 3 4 5 6 7 8 9; do echo "let a$k = $(nest 'sin(' "a$((k - 1))" ')' 2000)"; done
  echo 'a9'
  echo '1 + 1'
  echo "let w = [$(seq -s ', ' 1 100)]"
  echo 'dot(w, w) + w[99]'
  echo "let big = [$(seq -s ', ' 1 4097)]"
  echo 'big[0]'
  echo ':reset'
  echo '3 * 3'
  echo '(1 +'
} > "$work/in.txt"
timeout 300 "$physc" repl --keep-going < "$work/in.txt" > "$work/out" 2> "$work/err"
status=$?
if [ $status -ne 1 ]; then echo "FAIL exit status $status"; tail -n 20 "$work/err" | cut -c1-300; fail=$((fail + 1)); fi
check() { # check LINE PATTERN WHAT
  if ! sed -n "$1p" "$work/out" | grep -Eq "$2"; then
    echo "FAIL $3: $(sed -n "$1p" "$work/out" | cut -c1-200)"; fail=$((fail + 1))
  else
    echo "ok   $3"
  fi
}
check 1 '^(-?[0-9.e-]+, ){70}1$' '70 probes in one entry'
check 2 '^(-?[0-9.e-]+, ){72}2$' '72 derivative evaluations of a 16-output field'
# 3: a value, or (where frames are large, as under sanitizers) a diagnostic
deep=$(grep -c 'nested too deeply' "$work/err")
values=$(wc -l < "$work/out")
if [ $((values + deep)) -lt 7 ] || ! grep -q '^2$' "$work/out" || ! grep -q '^9$' "$work/out"; then
  echo "FAIL deep expressions: $values values, $deep diagnostics"; fail=$((fail + 1))
else
  echo "ok   deep expressions: $values values, $deep diagnostics"
fi
if grep -q 'nested too deeply' "$work/err"; then echo "ok   let chain too deep: diagnostic"
else echo "FAIL let chain too deep: no diagnostic"; fail=$((fail + 1)); fi
if grep -q '^338450$' "$work/out"; then echo "ok   a vector of 100 numbers"
else echo "FAIL a vector of 100 numbers: no 338450"; fail=$((fail + 1)); fi
if grep -q '^repl:[0-9]*:[0-9]*: error: not supported yet: vectors of more than 4096 elements' "$work/err"; then
  echo "ok   a vector of 4097 numbers: diagnostic"
else echo "FAIL a vector of 4097 numbers: no diagnostic"; fail=$((fail + 1)); fi
if grep -q 'evaluation failed' "$work/err"; then echo "FAIL an evaluation failed"; fail=$((fail + 1)); fi
if ! grep -q 'unexpected end of file' "$work/err"; then echo "FAIL open parenthesis at end of input"; fail=$((fail + 1)); fi
printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
