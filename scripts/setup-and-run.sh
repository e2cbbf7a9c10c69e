#!/usr/bin/env bash
# The first README command: install what is missing, build, install physc,
# then compile the main example (the damped-oscillator inverse problem) with
# the installed physc from another directory, train it and print the
# constants it recovered (truth: c = 0.4, k = 4.0).
#
# physc goes under /usr/local when run as root, else under ~/.local (no sudo
# needed); PHYSC_PREFIX=DIR chooses another prefix. It installs PREFIX/bin/
# physc, PREFIX/lib/physc/libphysrt.a, PREFIX/include/physc/ and
# PREFIX/share/physc/stdlib/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
if [ -n "${PHYSC_PREFIX:-}" ]; then prefix=$PHYSC_PREFIX
elif [ "$(id -u)" -eq 0 ]; then prefix=/usr/local
else prefix=$HOME/.local; fi
echo "cmake --install build --prefix $prefix"
cmake --install "$root/build" --prefix "$prefix" > /dev/null
physc="$prefix/bin/physc"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on PATH; add it (export PATH=\"$prefix/bin:\$PATH\") to type 'physc'" ;;
esac
"$physc" --version | head -n 1
out="$root/build/examples"
mkdir -p "$out"
cd "$out"
echo "cd build/examples; $physc ../../examples/oscillator.phys -o oscillator"
"$physc" "$root/examples/oscillator.phys" -o oscillator
echo "./oscillator train   (Adam 20000 steps, then L-BFGS 500; about half a minute on 2 cores)"
./oscillator train
echo "./oscillator params"
./oscillator params
