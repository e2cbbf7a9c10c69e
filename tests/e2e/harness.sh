# Sourced by the end-to-end scripts after they have read their arguments:
# a scratch directory, removed on exit, becomes the working directory, and
# ok / bad print a check's verdict, bad counting it in $fail.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
