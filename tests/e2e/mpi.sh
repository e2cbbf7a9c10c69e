#!/usr/bin/env bash
# Data-parallel training over MPI (issue 15): a compiled model (Burgers at
# test size: three terms, 2000 + 50 + 50 points) trained by
# 'mpirun -np 2 ./model train' gives the losses of one process: after 100
# Adam steps every term within 1e-12 relative of a plain run, and 20 L-BFGS
# iterations later within 1e-9 (its line search amplifies round-off);
# 'mpirun -np 1' gives the plain run's bits. Only rank 0 writes the
# checkpoint, the history and the progress; an error of the setup is
# reported once; SIGTERM to mpirun saves; a plain run never loads libmpi;
# the other verbs refuse to run on several processes.
# Usage: mpi.sh PHYSC SOURCE_ROOT
set -u
physc=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v mpirun > /dev/null || fail "mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev)"
# CI runs as root; containers may forbid the single-copy shared memory
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
# Open MPI's own allocations outlive MPI_Finalize: no leak reports under mpirun
mpi=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" mpirun --allow-run-as-root --oversubscribe)
cd "$work" || exit 1
cp "$root/tests/e2e/models/burgers_small.phys" .
"$physc" burgers_small.phys -o bs || fail "physc could not compile burgers_small.phys"
train=(train --stages 100,20 --precision f64 --threads 1 --log-every 1 --seed 3)

# a plain run: no MPI library is even looked for
LD_DEBUG=libs ./bs "${train[@]}" --checkpoint plain.ckpt 2> plain.log || { cat plain.log; fail "plain run"; }
grep -q libmpi plain.log && fail "a plain run loaded libmpi: $(grep libmpi plain.log | head -3)"
ldd ./bs | grep -q libmpi && fail "the program is linked against libmpi"

"${mpi[@]}" -np 1 ./bs "${train[@]}" --checkpoint one.ckpt 2> one.log || { cat one.log; fail "mpirun -np 1"; }
"${mpi[@]}" -np 2 ./bs "${train[@]}" --checkpoint two.ckpt 2> two.log || { cat two.log; fail "mpirun -np 2"; }
[ "$(grep -c '^trained burgers_small: 120 steps' two.log)" = 1 ] || fail "one summary line expected: $(cat two.log)"
grep -q "training on 2 processes (mpirun), 1 thread each" two.log || fail "no note of the processes: $(cat two.log)"
[ "$(grep -c '^lbfgs: ' two.log)" = 1 ] || fail "one L-BFGS report expected: $(cat two.log)"

# history columns: step,stage,pde,initial,walls,total,lr,elapsed_s
/usr/bin/python3 - << 'EOF' || fail "the losses differ"
import sys
import numpy as np
h = {k: np.loadtxt(k + ".history.csv", delimiter=",", skiprows=1) for k in ("plain", "one", "two")}
plain = h["plain"]
if h["one"].shape != plain.shape or not np.array_equal(h["one"][:, :6], plain[:, :6]):
    sys.exit("mpirun -np 1 should give the plain run's losses exactly")
two = h["two"]
if two.shape != plain.shape or not np.array_equal(two[:, :2], plain[:, :2]):
    sys.exit("-np 2 logged other steps: %s vs %s" % (two.shape, plain.shape))
rel = np.abs(two[:, 2:6] - plain[:, 2:6]) / np.abs(plain[:, 2:6])
adam = np.where(plain[:, 0] == 100)[0][0]
print("-np 2 against one process, relative difference of pde, initial, walls, total:")
print("  after 100 Adam steps: %s" % " ".join("%.1e" % v for v in rel[adam]))
print("  after 20 L-BFGS iterations: %s" % " ".join("%.1e" % v for v in rel[-1]))
print("  losses after Adam: %s" % " ".join("%.6e" % v for v in plain[adam, 2:6]))
if not (rel[: adam + 1] <= 1e-12).all():
    sys.exit("Adam: more than 1e-12 relative")
if not (rel[-1] <= 1e-9).all():
    sys.exit("L-BFGS: more than 1e-9 relative")
if not plain[-1, 5] < 0.5 * plain[0, 5]:
    sys.exit("the loss did not fall: %g -> %g" % (plain[0, 5], plain[-1, 5]))
EOF

# only rank 0 writes: rank 1 is given another checkpoint name (two
# programs of one mpirun), which must never appear
"${mpi[@]}" -np 1 ./bs train --stages 10,0 --threads 1 --checkpoint r0.ckpt : \
    -np 1 ./bs train --stages 10,0 --threads 1 --checkpoint r1.ckpt 2> w.log || { cat w.log; fail "two ranks"; }
[ -s r0.ckpt ] && [ -s r0.history.csv ] || fail "rank 0 wrote no checkpoint or history: $(ls)"
ls r1.* > /dev/null 2>&1 && fail "rank 1 wrote: $(ls r1.*)"
./bs eval x=0:1:3 t=0.5 --checkpoint r0.ckpt > /dev/null || fail "rank 0's checkpoint does not load"

# --more continues on two processes; a refused fresh run says so once
"${mpi[@]}" -np 2 ./bs train --more 5 --threads 1 --checkpoint two.ckpt 2> more.log || { cat more.log; fail "--more"; }
[ "$(grep -c '^trained burgers_small: 5 steps' more.log)" = 1 ] || fail "--more on 2 processes: $(cat more.log)"
"${mpi[@]}" -np 2 ./bs train --threads 1 --checkpoint two.ckpt 2> refused.log && fail "a fresh run replaced two.ckpt"
[ "$(grep -c 'already holds 125 steps of training' refused.log)" = 1 ] || fail "the refusal, once: $(cat refused.log)"

# SIGTERM to mpirun (passed on to the ranks) saves at a step boundary
"${mpi[@]}" -np 2 ./bs train --threads 1 --checkpoint sig.ckpt 2> sig.log &
pid=$!
for _ in $(seq 300); do grep -q "training on 2 processes" sig.log && break; sleep 0.1; done
sleep 1
kill -TERM $pid
wait $pid
[ "$(grep -c "terminated (SIGTERM): training stopped at step" sig.log)" = 1 ] || fail "SIGTERM: $(cat sig.log)"
./bs eval x=0:1:3 t=0.5 --checkpoint sig.ckpt > /dev/null || fail "no checkpoint after SIGTERM"

# under mpirun without a loadable libmpi: a clear error
OMPI_COMM_WORLD_SIZE=2 PHYSC_LIBMPI=/nonexistent/libmpi.so.40 ./bs train --checkpoint no.ckpt 2> nolib.log &&
    fail "trained without libmpi"
grep -q "error: started by mpirun (OMPI_COMM_WORLD_SIZE=2), but Open MPI's library cannot be loaded" nolib.log ||
    fail "no libmpi: $(cat nolib.log)"
[ ! -e no.ckpt ] || fail "no libmpi: a checkpoint was written"

# the other verbs run as one process
"${mpi[@]}" -np 2 ./bs eval x=0:1:3 t=0.5 --checkpoint two.ckpt > /dev/null 2> eval.log && fail "eval on 2 processes"
grep -q "error: eval runs as one process; only train runs on several (mpirun -np 2)" eval.log ||
    fail "eval under mpirun: $(cat eval.log)"
echo "PASS"
