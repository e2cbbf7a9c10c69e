# lib.sh - helpers for the model driver tests (POSIX sh). Sourced with the
# directory of the test model binaries as $1; works in a fresh temp dir.
set -u
BIN=$(cd "$1" && pwd) || exit 1
T=$(mktemp -d "${TMPDIR:-/tmp}/physm_test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
NAME=$(basename "$0" .sh)

fail() {
    echo "FAIL ($NAME): $*" >&2
    exit 1
}

# run STATUS CMD...: run with stdout in out.txt and stderr in err.txt,
# check the exit status.
run() {
    want=$1
    shift
    "$@" >out.txt 2>err.txt
    got=$?
    if [ "$got" != "$want" ]; then
        echo "--- stdout" >&2; head -c 3000 out.txt >&2
        echo "--- stderr" >&2; head -c 3000 err.txt >&2
        fail "'$*' exited $got, expected $want"
    fi
    if grep -Eq 'Sanitizer|runtime error:' err.txt; then
        head -c 3000 err.txt >&2
        fail "'$*': sanitizer report"
    fi
}

# err_has TEXT: stderr of the last run contains TEXT.
err_has() {
    grep -qF -- "$1" err.txt || { cat err.txt >&2; fail "stderr lacks '$1'"; }
}

out_has() {
    grep -qF -- "$1" out.txt || { cat out.txt >&2; fail "stdout lacks '$1'"; }
}

# awk_check CONDITION-PROGRAM MESSAGE: the awk program over out.txt must
# exit 0.
awk_check() {
    awk -F, "$1" out.txt || fail "$2"
}
