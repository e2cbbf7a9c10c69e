#!/usr/bin/env bash
# 'cmake --install BUILD --prefix P' puts physc, libphysrt.a, the runtime
# headers and the standard library under P; the installed physc, run from
# another directory (and after the prefix is moved), reports the version of
# CMakeLists.txt, links against P's runtime and imports from P's stdlib:
# it compiles and trains the main example and checks a model that imports
# the standard library, and its REPL runs.
# Usage: check_install.sh BUILD_DIR SOURCE_ROOT
set -u
build=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
unset PHYSC_RUNTIME PHYSC_STDLIB

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" || { bad "cmake --install"; cat "$work/install.log"; exit 1; }
for f in bin/physc lib/physc/libphysrt.a include/physc/physrt.h include/physc/physmodel.h \
         share/physc/stdlib/potentials.phys; do
  [ -f "$work/prefix/$f" ] || bad "not installed: $f"
done
mv "$work/prefix" "$work/moved" # an installed tree works wherever it is
physc=$work/moved/bin/physc
mkdir "$work/elsewhere" && cd "$work/elsewhere" || exit 1

version=$(sed -n 's/^project(physc VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
out=$("$physc" --version)
if [ -n "$version" ] && [ "$(sed -n 1p <<<"$out")" = "physc $version (LLVM 19 back end)" ] &&
   grep -qx "runtime library: $work/moved/lib/physc/libphysrt.a" <<<"$out" &&
   grep -qx "standard library: $work/moved/share/physc/stdlib" <<<"$out"; then
  ok "--version: physc $version, runtime and stdlib from the prefix"
else bad "--version (CMakeLists.txt says '$version'): $out"; fi

if "$physc" "$root/examples/oscillator.phys" -o oscillator 2> compile.err &&
   ./oscillator train --stages 50,5 --quiet --threads 1 && ./oscillator params > params.txt &&
   grep -q '^c = ' params.txt && grep -q '^k = ' params.txt; then
  ok "compiled, trained and read the main example from another directory"
else bad "the main example: $(cat compile.err params.txt 2>/dev/null)"; fi

out=$("$physc" --check "$root/examples/argon_lj.phys" 2>&1); status=$?
if [ $status -eq 0 ] && ! grep -q 'error' <<<"$out"; then ok "import potentials from the installed stdlib"
else bad "argon_lj.phys (imports potentials): status $status: $out"; fi

out=$(printf '1 + 1\n' | "$physc" repl 2>&1); status=$?
if [ $status -eq 0 ] && [ "$out" = 2 ]; then ok "the installed REPL evaluates"
else bad "installed REPL: status $status: $out"; fi

printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
