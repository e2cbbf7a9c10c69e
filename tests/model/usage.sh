# Command line: help text (model name, fields, params, terms, schedule, the
# verbs), exit statuses (0 help, 2 bad usage) and option forms.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_poisson
L=$BIN/tm_linfit

run 0 "$P" --help
for s in "usage: $P COMMAND [OPTIONS]" "Model 'poisson' (from poisson.phys)" \
         "train [--steps N] [--seed S] [--threads T] [--checkpoint FILE] [--stages A,B,...]" \
         "[--precision f32|f64] [--resume | --more N | --overwrite] [--data NAME=FILE]" \
         "params [--checkpoint FILE]" "default tm_poisson.ckpt, after the program's name" \
         "eval VAR=a:b:n [VAR=a:b:n ...] [--checkpoint FILE] [--format csv|npy] [COLUMN ...]" \
         "plot WHAT [--out FILE.png] [--checkpoint FILE]" \
         "u(x): mlp 1 -> 16 -> 16 -> 1, tanh" "pde: equation, weight 1, 64 sobol points" \
         "walls: boundary, weight 10, 2 uniform points on faces" "adam, 600 steps, lr 0.01" \
         "lbfgs, 400 iterations, history 10"; do
    out_has "$s"
done
cp out.txt help1.txt
run 0 "$P" help
cmp -s help1.txt out.txt || fail "'help' and '--help' differ"
run 0 "$P" train --help
out_has "usage: "
run 0 "$L" --help
out_has "a (initially 0)"
out_has "obs: data, weight 1, data file linfit.csv"

run 2 "$P";                                 err_has "no command given"
run 2 "$P" bogus;                           err_has "unknown command 'bogus'"
run 2 "$P" train --steps;                   err_has "train: --steps needs a whole number >= 0"
run 2 "$P" train --steps -1;                err_has "--steps needs a whole number >= 0, not -1"
run 2 "$P" train --steps 1e3;               err_has "not 1e3"
run 2 "$P" train --threads 0;               err_has "--threads needs a number from 1 to 256, not 0"
run 2 "$P" train --precision f16;           err_has "--precision is f32 or f64, not f16"
run 2 "$P" train --seed x;                  err_has "--seed needs a whole number >= 0, not x"
run 2 "$P" train extra;                     err_has "train: unknown argument 'extra'"
run 2 "$P" train --frobnicate;              err_has "train: unknown option '--frobnicate'"
err_has "(run '$P --help' for usage)"
run 2 "$P" params --foo;                    err_has "params: unknown option '--foo'"
run 2 "$P" params --checkpoint;             err_has "params: --checkpoint needs a file name"

run 0 "$P" train --steps=5 --quiet --checkpoint=x.ckpt --seed=3 --threads=1 --precision=f32
[ -s x.ckpt ] || fail "--checkpoint=FILE not honoured"
[ ! -e tm_poisson.ckpt ] || fail "default checkpoint written although --checkpoint was given"
run 0 "$P" params --checkpoint=x.ckpt
[ ! -s out.txt ] || fail "poisson has no constants: $(cat out.txt)"
exit 0
