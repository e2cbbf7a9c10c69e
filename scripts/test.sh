#!/usr/bin/env bash
# The second README command: build and run the whole test suite, once as a
# plain build and once with AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$root/scripts/build.sh" "$root/build"
ctest --test-dir "$root/build" --output-on-failure -j"$jobs"
# The sanitizer pass leaves out the long trainings (label "training"): their
# numbers are checked above, and under ASan they take many minutes each.
"$root/scripts/build.sh" "$root/build-sanitize" -DPHYSC_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-sanitize" --output-on-failure -j"$jobs" -LE training
