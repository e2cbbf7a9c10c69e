# Issue 12, the daily workflow of a compiled model: nothing trained is lost.
# (1) the default checkpoint follows the program's name: two programs of the
# same 'model poisson' line keep their own checkpoints; (2) a fresh train
# over a trained checkpoint is refused (saying how to continue) unless
# --overwrite; (3) --resume on a finished schedule says so, --more N trains N
# more steps; (4) inconsistent --stages exit 2; (5) SIGINT in the first
# second and SIGTERM save a checkpoint and say so; (6) the loss history is
# appended across resumes, never truncated; (7) a CSV with a UTF-8
# byte-order mark reads.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_poisson
PL=$BIN/tm_poisson_long

# (1) the model line is 'poisson' for both programs
run 0 "$P" train --steps 30 --quiet
run 0 "$PL" train --steps 5 --quiet
[ -s tm_poisson.ckpt ] && [ -s tm_poisson_long.ckpt ] || fail "each program should have its own checkpoint: $(ls)"
[ ! -e poisson.ckpt ] || fail "poisson.ckpt (the model line's name) was written"
run 0 "$P" eval x=0:1:3          # reads its own checkpoint, not the other structure's

# (2) a fresh run keeps the trained checkpoint
cp tm_poisson.ckpt trained.ckpt
run 1 "$P" train --steps 10 --quiet
err_has "tm_poisson.ckpt already holds 30 steps of training"
err_has "'train --resume'"
err_has "'train --more N'"
err_has "--overwrite"
cmp -s trained.ckpt tm_poisson.ckpt || fail "a refused fresh run changed the checkpoint"
# a foreign file is not replaced either
run 1 "$P" train --steps 10 --quiet --checkpoint tm_poisson_long.ckpt
err_has "not replacing tm_poisson_long.ckpt, which is not a checkpoint of this model"
run 0 "$P" train --steps 10 --quiet --overwrite
cmp -s trained.ckpt tm_poisson.ckpt && fail "--overwrite did not train afresh"

# (3) the whole schedule, then --resume and --more
run 0 "$P" train --quiet --overwrite
run 0 "$P" train --resume
err_has "the training schedule (1000 steps) is complete; 'train --more N' trains N more steps of its last stage"
run 0 "$P" train --more 15
err_has "trained poisson: 15 steps"
cp tm_poisson.ckpt more.ckpt
run 0 "$P" train --more 5 --stages 1000,0
run 2 "$P" train --more 0;          err_has "--more needs a whole number of steps >= 1"
run 2 "$P" train --more 5 --overwrite; err_has "--more continues the checkpoint; --overwrite starts afresh"

# (4) --stages: one whole number >= 0 per stage (the schedule has 2)
for bad in 10,10,10 10 -1,5 10,x 10, ,10 "" 1e3,1 +5,1; do
    run 2 "$P" train --stages "$bad" --overwrite --quiet
    err_has "train: --stages needs 2 whole numbers >= 0, one per stage"
done
err_has "not '+5,1'"
run 2 "$P" train --stages 10,10,10 --overwrite
err_has "(the schedule has 2 stages, it gives 3)"

# (5) SIGINT within the first second, and SIGTERM, on a 1e8-step schedule
# (env --default-signal: a shell's background job would ignore SIGINT)
for sig in INT TERM; do
    rm -f sig.ckpt sig.history.csv
    env --default-signal=INT,TERM "$PL" train --checkpoint sig.ckpt --threads 1 --quiet 2> err.txt &
    pid=$!
    sleep 0.4
    kill -$sig $pid
    wait $pid
    status=$?
    want=130; [ $sig = TERM ] && want=143
    [ $status = $want ] || { cat err.txt >&2; fail "SIG$sig: exit status $status, expected $want"; }
    [ $sig = INT ] && err_has "interrupted (SIGINT): training stopped at step "
    [ $sig = TERM ] && err_has "terminated (SIGTERM): training stopped at step "
    err_has "saved sig.ckpt (continue with 'train --resume')"
    [ -s sig.ckpt ] || fail "SIG$sig: no checkpoint"
    run 0 "$PL" eval x=0:1:3 --checkpoint sig.ckpt
    [ -s sig.history.csv ] || fail "SIG$sig: no loss history"
done

# (6) the loss history: header, one row per 10 steps, appended by --resume
rm -f h.ckpt h.history.csv
run 0 "$P" train --steps 40 --quiet --checkpoint h.ckpt
[ "$(head -1 h.history.csv)" = "step,stage,pde,walls,total,lr,elapsed_s" ] || fail "history header: $(head -1 h.history.csv)"
[ "$(wc -l < h.history.csv)" = 5 ] || fail "40 steps should log 4 rows: $(cat h.history.csv)"
run 0 "$P" train --resume --steps 25 --quiet --checkpoint h.ckpt --log-every 5
[ "$(wc -l < h.history.csv)" = 10 ] || fail "the resume should append 5 rows: $(cat h.history.csv)"
[ "$(grep -c '^step' h.history.csv)" = 1 ] || fail "the header was written twice"
awk -F, 'NR > 1 { if ($1 <= last || $2 != 1 || ($3 + $4 - $5)^2 > 1e-12 * $5^2 || $6 != 0.01) exit 1; last = $1 }
         END { exit !(last == 65) }' h.history.csv || fail "history rows: $(cat h.history.csv)"
/usr/bin/python3 -c "
import numpy, sys
h = numpy.loadtxt('h.history.csv', delimiter=',', skiprows=1)
sys.exit(0 if h.shape == (9, 7) and h[-1, 0] == 65 else 1)" || fail "numpy.loadtxt cannot read the history"

# (7) a CSV saved with a UTF-8 byte-order mark
printf '\357\273\277x,y\r\n0,1\r\n1,3\r\n2,5\r\n' > linfit.csv
run 0 "$BIN/tm_linfit" train --quiet
run 0 "$BIN/tm_linfit" params
grep -q '^a = 2$' out.txt && grep -q '^b = 1$' out.txt || fail "BOM CSV fit: $(cat out.txt)"

# (8) simulate --format npy holds what the CSV holds; plot of a trajectory
# and of the energy drift (when gnuplot is installed)
S=$BIN/tm_spring
run 0 "$S" simulate --untrained --quiet
run 0 "$S" simulate --untrained --quiet --format npy
[ -s spring_orbit.npy ] || fail "simulate --format npy wrote no spring_orbit.npy"
/usr/bin/python3 -c "
import numpy, sys
a = numpy.load('spring_orbit.npy')
c = numpy.genfromtxt('spring_orbit.csv', delimiter=',', names=True)
sys.exit(0 if a.dtype.names == c.dtype.names == ('trajectory', 'step', 't', 'q', 'p', 'energy', 'w')
         and a.shape == c.shape == (101,) and all(numpy.array_equal(a[n], c[n]) for n in a.dtype.names) else 1)" \
    || fail "spring_orbit.npy differs from spring_orbit.csv"
if command -v gnuplot > /dev/null; then
    for what in trajectory energy; do
        run 0 "$S" plot $what spring_orbit.csv
        out_has "wrote tm_spring_$what.png"
        [ "$(head -c 8 tm_spring_$what.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "not a PNG"
    done
    run 0 "$P" plot history --checkpoint h.ckpt -o h.png
    out_has "wrote h.png"
    run 1 "$P" plot history --checkpoint none.ckpt
    err_has "none.history.csv cannot be read (train the model first)"
fi
run 2 "$P" plot;              err_has "plot: say what to plot"
run 2 "$P" plot nonsense;     err_has "unknown picture 'nonsense'"
exit 0
