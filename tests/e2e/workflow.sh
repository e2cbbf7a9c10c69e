#!/usr/bin/env bash
# Issue 12 with a compiled example (oscillator: one data declaration, the
# constants c and k, the equation motion): a program moved away from its
# source reads its data through --data (and names the missing path without
# it); eval gives residuals and constants under NumPy-safe names and as
# .npy that numpy.load reads; plot writes PNGs when gnuplot is there and
# says how to get it when it is not.
set -u
physc=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir "$work/src" "$work/elsewhere"
cp "$root/examples/oscillator.phys" "$root/examples/oscillator.csv" "$work/src/"
cd "$work/src" && "$physc" oscillator.phys -o osc || fail "compile"
mv osc ../elsewhere/ && mv oscillator.csv ../elsewhere/observations.csv
cd ../elsewhere || exit 1

# moved, data gone from the source directory: a named error, no checkpoint
./osc train --steps 5 --quiet 2> err.txt && fail "training without its data file succeeded"
grep -qF "data file oscillator.csv of term 'data@16' not found: no $work/src/oscillator.csv (the model's path, resolved against $work/src" err.txt \
    || fail "missing data message: $(cat err.txt)"
grep -qF -- "--data data@16=FILE" err.txt || fail "the message should say how to give the file: $(cat err.txt)"
[ ! -e osc.ckpt ] || fail "a checkpoint was written"
./osc train --steps 5 --quiet --data nothere.csv 2> err.txt; [ $? = 1 ] || fail "--data of a missing file"
grep -qF "cannot read nothere.csv" err.txt || fail "$(cat err.txt)"
./osc train --steps 5 --quiet --data bogus=observations.csv 2> err.txt; [ $? = 2 ] || fail "--data NAME of no declaration: $(cat err.txt)"
# --data FILE (the one data declaration), and NAME=FILE by the model's file name
./osc train --steps 40 --quiet --data observations.csv || fail "train --data FILE"
./osc train --more 10 --quiet --data oscillator.csv=observations.csv || fail "train --data NAME=FILE"
mkdir sub && (cd sub && ../osc train --more 10 --quiet --checkpoint ../osc.ckpt --data oscillator=../observations.csv) \
    || fail "--data relative to the working directory"

# simulate of a moved program: its declaration's start file through --data
mkdir "$work/nb" && cp "$root/examples/nbody_truth.phys" "$root/examples/nbody_init.csv" "$work/nb/"
(cd "$work/nb" && "$physc" nbody_truth.phys -o nbt && mv nbt nbody_init.csv "$work/elsewhere/") || fail "compile nbody_truth"
mv nbody_init.csv start.csv
./nbt simulate --quiet 2> err.txt && fail "simulate without its start file succeeded"
grep -qF "start file nbody_init.csv not found: no $work/nb/nbody_init.csv" err.txt || fail "$(cat err.txt)"
grep -qF -- "--data nbody_init.csv=FILE" err.txt || fail "$(cat err.txt)"
./nbt simulate --quiet --data nbody_init.csv=start.csv || fail "simulate --data NAME=FILE"
./nbt simulate --quiet --data start.csv --to nb2.csv || fail "simulate --data FILE"
cmp -s nbody.csv nb2.csv || fail "the two --data forms differ"

# eval: residual of 'motion', the constants, a derivative; CSV and npy agree
./osc eval t=0:10:21 'd(x,t)' motion c k > e.csv || fail "eval"
[ "$(head -1 e.csv)" = "t,x,d_x_t,motion,c,k" ] || fail "eval header: $(head -1 e.csv)"
./osc params > params.txt
./osc eval t=0:10:21 'd(x,t)' motion c k --format npy > e.npy || fail "eval --format npy"
/usr/bin/python3 -c "
import numpy, sys
a = numpy.load('e.npy')
c = numpy.genfromtxt('e.csv', delimiter=',', names=True)
p = dict(l.split(' = ') for l in open('params.txt').read().split('\n') if l)
ok = a.dtype.names == ('t', 'x', 'd_x_t', 'motion', 'c', 'k') and a.shape == (21,) and c.dtype.names == a.dtype.names
ok = ok and all(numpy.array_equal(a[n], c[n]) for n in a.dtype.names)
ok = ok and numpy.allclose(a['c'], float(p['c']), rtol=1e-9, atol=0) and numpy.allclose(a['k'], float(p['k']), rtol=1e-9, atol=0)
sys.exit(0 if ok else 1)" || fail "numpy.load of eval --format npy"
# the residual is d(x,t,t) + c d(x,t) + k x: check it against finite differences of x
./osc eval t=4.999:5.001:3 motion 'd(x,t)' c k > r.csv || fail "eval residual"
awk -F, 'NR > 1 { x[NR] = $2; t[NR] = $1; r[NR] = $3; dx[NR] = $4; c = $5; k = $6 }
  END { h = t[3] - t[2]; xtt = (x[4] - 2 * x[3] + x[2]) / (h * h); want = xtt + c * dx[3] + k * x[3];
        e = want - r[3]; if (e < 0) e = -e; printf "residual %.9g, by finite differences %.9g\n", r[3], want;
        exit !(e <= 1e-6) }' r.csv || fail "residual of motion"
./osc eval t=0:1:3 nosuch 2> err.txt; [ $? = 2 ] || fail "eval of an unknown name"
grep -qF "(equations: motion; trainable constants: c, k; consts and lets: none)" err.txt || fail "$(cat err.txt)"

# consts and lets by name: each against its formula
"$physc" "$root/tests/e2e/models/lets.phys" -o lets || fail "compile lets.phys"
./lets train --quiet || fail "train lets"
./lets eval t=0:10:41 omega nu theta kinetic spring k 'd(x,t)' x > q.csv || fail "eval of consts and lets"
[ "$(head -1 q.csv)" = "t,x,omega,nu,theta,kinetic,spring,k,d_x_t" ] || fail "header: $(head -1 q.csv)"
awk -F, 'function bad(a, b) { d = a - b; if (d < 0) d = -d; return d > 1e-12 * (1 + (b < 0 ? -b : b)) }
  NR > 1 { if (bad($3, 2) || bad($4, 0.01 / 3.141592653589793) || bad($5, 0.1 * cos(2 * $1)) ||
               bad($6, 0.5 * $9 * $9) || bad($7, $8 * $2)) { print "row " NR ": " $0; exit 1 } n++ }
  END { exit !(n == 41) }' q.csv || fail "consts and lets disagree with their formulas"
./lets eval t=0:1:2 bogus 2> err.txt; [ $? = 2 ] || fail "eval of an unknown name"
grep -qF "consts and lets: omega, nu, theta, kinetic, spring)" err.txt || fail "$(cat err.txt)"

# plot: gnuplot missing, then (when installed) PNGs
PATH=/nonexistent GNUPLOT= ./osc plot history 2> err.txt; [ $? = 1 ] || fail "plot without gnuplot"
grep -qF "gnuplot not found (not on PATH); install it (Debian: apt-get install gnuplot-nox)" err.txt || fail "$(cat err.txt)"
if command -v gnuplot > /dev/null; then
    ./osc plot history > out.txt || fail "plot history"
    ./osc plot t=0:10:201 -o x.png >> out.txt || fail "plot t=..."
    for png in osc_history.png x.png; do
        [ "$(head -c 8 $png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$png is not a PNG"
    done
    grep -qF "wrote osc_history.png" out.txt || fail "$(cat out.txt)"
else
    echo "note: gnuplot not installed, PNGs not checked"
fi
echo "ok"
