#!/usr/bin/env bash
# The driver's own conventions: --help, --version, bad options, --dump-ast.
set -u
physc=$1
fail=0
check() { # description, expected status, command...
  local what=$1 want=$2; shift 2
  "$@" >/dev/null 2>&1; local got=$?
  if [ $got -ne $want ]; then echo "FAIL $what: status $got, expected $want"; fail=$((fail + 1)); else echo "ok   $what"; fi
}
check "--help" 0 "$physc" --help
check "--version" 0 "$physc" --version
check "unknown option" 2 "$physc" --frobnicate x.phys
check "no input" 2 "$physc"
check "bad --emit" 2 "$physc" --emit=exe x.phys
"$physc" --help | grep -q -- "--check" || { echo "FAIL --help does not mention --check"; fail=$((fail + 1)); }
"$physc" --version | grep -qE '^physc [0-9]+\.[0-9]+' || { echo "FAIL --version format"; fail=$((fail + 1)); }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'model m\nconst a = 1 + 2 * x\n' > "$tmp/m.phys"
"$physc" --dump-ast "$tmp/m.phys" > "$tmp/ast.txt"
grep -q "binary +" "$tmp/ast.txt" && grep -q "binary \*" "$tmp/ast.txt" ||
  { echo "FAIL --dump-ast does not show the tree"; fail=$((fail + 1)); }
printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
