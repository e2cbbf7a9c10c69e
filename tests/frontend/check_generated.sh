#!/usr/bin/env bash
# Inputs too large or too odd to keep in the repository, made on the fly:
# an empty file, binary garbage, a 10 MB file, deep nesting. Each must give
# file:line:col: error and exit status 1, quickly and without crashing.
set -u
physc=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
expect_error() { # name, then the file
  local out status
  out=$(timeout 60 "$physc" --check "$2" 2>&1 >/dev/null)
  status=$?
  if [ $status -ne 1 ] || ! head -n 1 <<<"$out" | grep -qE "^$2:[0-9]+:[0-9]+: error: "; then
    printf 'FAIL %s: status %d, output:\n%s\n' "$1" "$status" "$(head -c 600 <<<"$out")"
    fail=$((fail + 1))
  else
    printf 'ok   %s: %s\n' "$1" "$(head -n 1 <<<"$out" | cut -c1-100)"
  fi
}
: > "$work/empty.phys"
expect_error "empty file" "$work/empty.phys"
printf '\n\n  # only a comment\n\n' > "$work/blank.phys"
expect_error "only blanks and a comment" "$work/blank.phys"
head -c 4096 /dev/urandom > "$work/random.phys"
printf 'model m\nconst a = 1\x00\x01\x02\xff\n' > "$work/nul.phys"
expect_error "bytes with NUL and 0xff" "$work/nul.phys"
# Random bytes: the status must be 1; some random files are mostly blanks,
# so only require the error line when physc reports one.
out=$(timeout 60 "$physc" --check "$work/random.phys" 2>&1 >/dev/null); status=$?
if [ $status -ne 1 ]; then echo "FAIL random bytes: status $status"; fail=$((fail + 1)); else echo "ok   random bytes"; fi
# 10 MB: a valid model padded with 10 MB of declarations, then one error at the end.
{
  echo "model big"
  for i in $(seq 1 2000); do printf 'const c%d = %d\n' "$i" "$i"; done
  yes 'print 1 + 2 * 3 - 4 / 5 ^ 6, sin(0.5) + cos(0.25) + exp(0.125)' | head -c 10000000
  printf '\nprint 1 +\n'
} > "$work/big.phys"
expect_error "10 MB file" "$work/big.phys"
# One 10 MB line without a newline.
{ printf 'const a = '; head -c 10000000 /dev/zero | tr '\0' 'x'; } > "$work/longline.phys"
expect_error "10 MB single line" "$work/longline.phys"
# Deep nesting: parentheses 100000 deep.
{ printf 'const a = '; head -c 100000 /dev/zero | tr '\0' '('; printf '1'; } > "$work/deep.phys"
expect_error "deeply nested parentheses" "$work/deep.phys"
# A missing file is an error too (file: error: cannot open).
out=$("$physc" --check "$work/missing.phys" 2>&1); status=$?
if [ $status -ne 1 ] || ! grep -q "missing.phys: error: cannot open" <<<"$out"; then
  echo "FAIL missing file: $status $out"; fail=$((fail + 1)); else echo "ok   missing file"; fi
printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
