# (a) 1-D Poisson u'' = -pi^2 sin(pi x), u(+-1) = 0: 600 Adam steps and 400
# L-BFGS iterations (about 0.2 s), checked against sin(pi x) on 201 points:
# relative L2 error <= 1e-3 (about 1e-4 is reached, deterministically), in
# float64 and float32; runs are reproducible from the seed; progress output.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_poisson

rel_l2='NR == 1 { if ($0 != "x,u") { print "bad header " $0 > "/dev/stderr"; exit 1 } next }
        { s = sin(3.141592653589793 * $1); e = $2 - s; num += e * e; den += s * s; n++ }
        END { rel = sqrt(num / den); printf "%s: relative L2 error %.3e over %d points\n", what, rel, n > "/dev/stderr";
              exit !(n == 201 && rel <= 1e-3) }'

run 0 "$P" train --threads 2
err_has "step 100/1000 adam  loss "          # plain progress lines when not a terminal
err_has "  pde "
err_has "  walls "
err_has "steps/s  ETA "
err_has "lbfgs: 400 iterations"
err_has "trained poisson: 1000 steps in "
err_has "; checkpoint tm_poisson.ckpt"
[ -s tm_poisson.ckpt ] || fail "no default checkpoint tm_poisson.ckpt"
[ ! -e tm_poisson.ckpt.tmp ] || fail "tm_poisson.ckpt.tmp left behind"
run 0 "$P" eval x=-1:1:201
awk -F, -v what=f64 "$rel_l2" out.txt || fail "float64 solution not within 1e-3 of sin(pi x)"

# same seed and thread count: bitwise the same checkpoint; another seed differs
run 0 "$P" train --threads 2 --quiet --checkpoint again.ckpt
[ ! -s err.txt ] || fail "--quiet printed: $(cat err.txt)"
cmp -s tm_poisson.ckpt again.ckpt || fail "two runs with seed 0 differ"
run 0 "$P" train --threads 2 --quiet --seed 7 --steps 10 --checkpoint seed7.ckpt
run 0 "$P" train --threads 2 --quiet --seed 0 --steps 10 --checkpoint seed0.ckpt
cmp -s seed0.ckpt seed7.ckpt && fail "seeds 0 and 7 gave the same values"

# float32: Adam in float32, L-BFGS in float64 on a copy
run 0 "$P" train --precision f32 --threads 2 --checkpoint f32.ckpt
err_has "trained poisson: 1000 steps"
run 0 "$P" eval x=-1:1:201 --checkpoint f32.ckpt
awk -F, -v what=f32 "$rel_l2" out.txt || fail "float32 solution not within 1e-3 of sin(pi x)"

# --steps caps the whole schedule: 700 = 600 Adam + 100 L-BFGS iterations
run 0 "$P" train --steps 700 --threads 1 --checkpoint capped.ckpt
err_has "lbfgs: 100 iterations"
err_has "trained poisson: 700 steps"
exit 0
