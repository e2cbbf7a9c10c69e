# The simulate verb on hand-written dynamics: an analytic spring
# H = w (q^2 + p^2) (exact q = cos(2 w t)), two-body gravity (Newtonian,
# energy and momentum), a Hamiltonian network (iterative leapfrog). Energy
# behaviour of each integrator, orders against the exact solution, batches
# from a CSV file, output format, the drift report, errors and usage.
. "$(dirname "$0")/lib.sh"
S=$BIN/tm_spring
N=$BIN/tm_spring_nonsep
X=$BIN/tm_spring_explicit
G=$BIN/tm_gravity
H=$BIN/tm_hnn

# the declaration's defaults; output format and report
run 0 "$S" simulate
out_has "simulate orbit: leapfrog, dt 0.01, 1000 steps, 1 trajectory, 2001 rhs evaluations"
out_has "wrote spring_orbit.csv"
out_has "energy: max relative drift "
out_has "conserve energy: max relative drift "
[ -s spring_orbit.csv ] || fail "no spring_orbit.csv"
[ ! -e spring_orbit.csv.tmp ] || fail "temporary file left"
[ "$(head -1 spring_orbit.csv)" = "trajectory,step,t,q,p,energy,w" ] || fail "header: $(head -1 spring_orbit.csv)"
[ "$(wc -l < spring_orbit.csv)" = 102 ] || fail "rows at steps 0, 10, ..., 1000 expected"
grep -q '^0,0,0,1,0,1,1$' spring_orbit.csv || fail "first row: $(sed -n 2p spring_orbit.csv)"
grep -q '^0,1000,10,' spring_orbit.csv || fail "last row: $(tail -1 spring_orbit.csv)"
run 0 "$S" simulate orbit --quiet --steps 25 --every 10 --to q.csv
[ ! -s out.txt ] && [ ! -s err.txt ] || fail "--quiet printed something"
[ "$(cut -d, -f2 q.csv | tr '\n' ' ')" = "step 0 10 20 25 " ] || fail "rows of --every 10 --steps 25: $(cut -d, -f2 q.csv)"

# leapfrog: energy error bounded, no secular growth over 1e5 steps
run 0 "$S" simulate --steps 100000 --every 10 --to lf.csv
awk -F, 'NR == 2 { e0 = $6 } NR > 1 { d = ($6 - e0) / e0; d = d < 0 ? -d : d;
         if ($2 <= 10000 && d > a) a = d; if ($2 >= 90000 && d > b) b = d; if (d > m) m = d }
         END { printf "leapfrog dt 0.01, 1e5 steps: max energy drift first tenth %.3g, last tenth %.3g\n", a, b > "/dev/stderr";
               exit !(a > 0 && b <= 1.05 * a && m < 2e-4) }' lf.csv || fail "leapfrog energy drift grows"
# rk4 at a larger step: the energy decays monotonically; leapfrog stays bounded
run 0 "$S" simulate --integrator rk4 --dt 0.1 --steps 2000 --every 10 --to rk.csv
awk -F, 'NR == 2 { e0 = $6; prev = $6 } NR > 2 { if (!($6 < prev)) bad = 1; prev = $6 }
         END { d = (e0 - prev) / e0; printf "rk4 dt 0.1, 2000 steps: energy drift %.3g (monotone: %s)\n", d, bad ? "no" : "yes" > "/dev/stderr";
               exit !(!bad && d > 1e-3) }' rk.csv || fail "rk4 energy does not drift monotonically"
run 0 "$S" simulate --dt 0.1 --steps 2000 --to lf2.csv
awk -F, 'NR == 2 { e0 = $6 } NR > 1 { d = ($6 - e0) / e0; d = d < 0 ? -d : d; if (d > m) m = d }
         END { printf "leapfrog dt 0.1, 2000 steps: max energy drift %.3g\n", m > "/dev/stderr"; exit !(m < 0.02) }' lf2.csv \
    || fail "leapfrog at dt 0.1"
# implicit midpoint conserves the quadratic energy to round-off
run 0 "$S" simulate --integrator midpoint --steps 100000 --every 1000 --to mp.csv
awk -F, 'NR == 2 { e0 = $6 } NR > 1 { d = ($6 - e0) / e0; d = d < 0 ? -d : d; if (d > m) m = d }
         END { printf "midpoint dt 0.01, 1e5 steps: max energy drift %.3g\n", m > "/dev/stderr"; exit !(m < 1e-12) }' mp.csv \
    || fail "midpoint does not conserve the quadratic energy"
out_has "simulate orbit: midpoint"

# against the exact solution q = cos(2t), p = -sin(2t) at t = 10: orders
err_at() {   # INTEGRATOR DT STEPS -> error at the end on stdout
    "$S" simulate --quiet --integrator "$1" --dt "$2" --steps "$3" --to e.csv || fail "simulate $*"
    tail -1 e.csv | awk -F, '{ T = $3; dq = $4 - cos(2 * T); dp = $5 + sin(2 * T); print sqrt(dq * dq + dp * dp) }'
}
order() {   # INTEGRATOR DT STEPS LO HI
    e1=$(err_at "$1" "$2" "$3")
    e2=$(err_at "$1" "$(awk -v h="$2" 'BEGIN { print h / 2 }')" $(($3 * 2)))
    awk -v a="$e1" -v b="$e2" -v lo="$4" -v hi="$5" -v i="$1" \
        'BEGIN { printf "%s: error at t = 10: %.3g, halving dt: %.3g (ratio %.2f)\n", i, a, b, a / b > "/dev/stderr";
                 exit !(a / b > lo && a / b < hi) }' || fail "$1: wrong order"
}
order leapfrog 0.01 1000 3.6 4.4
order midpoint 0.01 1000 3.6 4.4
order rk4 0.05 200 14 18

# the non-separable flag takes the iterative leapfrog: the same numbers
run 0 "$N" simulate --to ns.csv
out_has "simulate orbit: leapfrog"
paste -d, spring_orbit.csv ns.csv | awk -F, 'NR > 1 { d = $4 - $11; d = d < 0 ? -d : d; if (d > m) m = d }
    END { printf "separable vs iterative leapfrog: max difference %.3g\n", m > "/dev/stderr"; exit !(m < 1e-10) }' \
    || fail "iterative leapfrog differs from the explicit one"

# a batch of trajectories from the declaration's CSV (constant w passes through)
printf 'w,p,q\n1,0,1\n2,0,1\n0.5,1,0\n' > spring_init.csv
run 0 "$S" simulate many
out_has "simulate many: rk4, dt 0.05, 200 steps, 3 trajectories, 800 rhs evaluations"
[ "$(wc -l < spring_many.csv)" = 16 ] || fail "3 trajectories x 5 rows expected"
awk -F, '$2 == 200 && $1 == 1 { d = $4 - cos(4 * $3); ok1 = d * d < 1e-6 && ($6 - 2)^2 < 1e-6 }
         $2 == 200 && $1 == 2 { d = $4 - sin($3); ok2 = d * d < 1e-8 && ($6 - 0.5)^2 < 1e-12 }
         END { exit !(ok1 && ok2) }' spring_many.csv || fail "batch trajectories wrong: $(cat spring_many.csv)"
printf 'q,p\n1,0\n' > bad_init.csv
run 1 "$S" simulate --from bad_init.csv
err_has "bad_init.csv:1: error: no column 'w' in the header"

# two-body gravity: velocity Verlet (one evaluation per step), momentum to round-off
run 0 "$G" simulate
out_has "simulate kepler: leapfrog, dt 0.01, 5000 steps, 1 trajectory, 5001 rhs evaluations"
out_has "conserve momentum: max relative drift "
[ "$(head -1 kepler.csv)" = "trajectory,step,t,r_0_x,r_0_y,r_1_x,r_1_y,v_0_x,v_0_y,v_1_x,v_1_y,energy,P_x,P_y,m_0,m_1" ] \
    || fail "gravity header: $(head -1 kepler.csv)"
awk '/^momentum: max relative drift/ { m = $5 } /^energy: max relative drift/ { e = $5 }
     END { printf "gravity leapfrog: energy drift %s, momentum drift %s\n", e, m > "/dev/stderr"; exit !(m + 0 < 1e-13 && e + 0 < 1e-5) }' out.txt \
    || fail "gravity drifts: $(cat out.txt)"
printf 'r_0_x,r_0_y,r_1_x,r_1_y,v_0_x,v_0_y,v_1_x,v_1_y,m_0,m_1\n1,0,-1,0,0,0.4,0.1,-0.5,1,0.5\n0,0,0,0,0,0,0,0,1,1\n' > crash.csv
run 1 "$G" simulate --from crash.csv --to crash_out.csv
err_has "error: step 1, trajectory 1: the state is not finite"
[ ! -e crash_out.csv ] && [ ! -e crash_out.csv.tmp ] || fail "output written despite the error"

# a Hamiltonian network: the iterative leapfrog keeps its energy bounded
run 1 "$H" simulate
err_has "no checkpoint tm_hnn.ckpt"
err_has "--untrained"
run 0 "$H" simulate --untrained --steps 10000 --every 10
awk -F, 'NR == 2 { e0 = $6 } NR > 1 { d = ($6 - e0) / e0; d = d < 0 ? -d : d;
         if ($2 <= 1000 && d > a) a = d; if ($2 >= 9000 && d > b) b = d; if (d > m) m = d }
         END { printf "hnn leapfrog dt 0.05, 1e4 steps: max energy drift %.3g (first tenth %.3g, last tenth %.3g)\n", m, a, b > "/dev/stderr";
               exit !(m < 1e-4 && b <= 1.5 * a + 1e-12) }' hnn_roll.csv || fail "hnn leapfrog energy drift"
run 0 "$H" simulate --untrained --seed 5 --integrator midpoint --steps 100 --to h2.csv
run 0 "$H" simulate --untrained --dt 5 --steps 3 --to h3.csv
# the fixed-point iteration of implicit midpoint diverges when h L / 2 > 1
run 1 "$S" simulate --integrator midpoint --dt 2 --steps 3 --to h3.csv
err_has "error: step 1: the implicit midpoint iteration did not converge in 200 iterations; reduce dt"

# explicit dynamics, no declaration
run 2 "$X" simulate
err_has "the model declares no simulation, so --dt, --steps and --from are needed (missing: --dt --steps --from)"
printf 'q,p,w\n1,0,1\n' > x_init.csv
run 2 "$X" simulate --dt 0.01 --steps 10 --from x_init.csv --integrator leapfrog
err_has "leapfrog needs positions and momenta"
err_has "use --integrator midpoint or rk4"
run 0 "$X" simulate --dt 0.01 --steps 10 --from x_init.csv
out_has "simulate simulate: rk4, dt 0.01, 10 steps"
[ -s spring_simulate.csv ] || fail "default output name"

# no terms: params works, train says there is nothing to train
run 0 "$S" params
run 1 "$S" train
err_has "nothing to train"
run 0 "$S" --help
out_has "simulate [NAME] [--checkpoint FILE] [--untrained] [--seed S]"
out_has "dynamics: hamiltonian (separable), state q p; constant w; energy"
out_has "orbit: leapfrog, dt 0.01, 1000 steps, every 10, from given values, to spring_orbit.csv"

# usage errors
run 2 "$S" simulate --integrator euler;   err_has "simulate: --integrator is leapfrog, verlet, midpoint, rk4 or langevin, not euler"
run 2 "$S" simulate --dt 0;               err_has "simulate: --dt needs a finite number > 0, not 0"
run 2 "$S" simulate --dt -1;              err_has "not -1"
run 2 "$S" simulate --steps 0;            err_has "simulate: --steps needs a whole number >= 1, not 0"
run 2 "$S" simulate --every x;            err_has "simulate: --every needs a whole number >= 1, not x"
run 2 "$S" simulate --tolerance 0;        err_has "simulate: --tolerance needs a finite number > 0"
run 2 "$S" simulate --frob;               err_has "simulate: unknown option '--frob'"
run 2 "$S" simulate orbit extra;          err_has "simulate: unknown argument 'extra'"
run 2 "$S" simulate nope;                 err_has "the model has no simulation 'nope' (simulations: 'orbit', 'many')"
run 2 "$BIN/tm_poisson" simulate;         err_has "has no dynamics"
run 0 "$S" simulate --integrator verlet --steps 10 --to v.csv
out_has "leapfrog, dt 0.01, 10 steps"
run 1 "$S" simulate --steps 10 --to nodir/x.csv
err_has "cannot write nodir/x.csv.tmp"
exit 0
