# A loss that turns NaN stops training with an error naming the step and
# the term (exit 1), in float64 and float32, and keeps the last good
# checkpoint.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_blowup

run 1 "$P" train --quiet
err_has "blowup: error: the loss is not finite at step "
err_has "(adam): term 'blows_up' = nan"
err_has "no checkpoint was written by this run"
[ ! -e tm_blowup.ckpt ] || fail "a checkpoint was written"

run 0 "$P" train --steps 2 --quiet
cp tm_blowup.ckpt good.ckpt
run 0 "$P" params
good=$(cat out.txt)
run 1 "$P" train --quiet --overwrite --checkpoint-interval 0
err_has "term 'blows_up' = nan"
cmp -s tm_blowup.ckpt good.ckpt || true   # periodic saves of good states are allowed
run 0 "$P" params
awk -F' = ' '{ exit !($2 > 0.5) }' out.txt || fail "the checkpoint holds a bad state: $(cat out.txt)"

run 1 "$P" train --quiet --precision f32 --checkpoint f32.ckpt
err_has "the loss is not finite at step "
err_has "term 'blows_up' = nan"
[ ! -e f32.ckpt ] || fail "f32: a checkpoint was written"

# resume from the good state, then NaN: the old file stays as it was
run 1 "$P" train --resume --checkpoint good.ckpt --quiet
err_has "good.ckpt keeps the last good state (step 2)"
run 0 "$P" params --checkpoint good.ckpt
[ "$(cat out.txt)" = "$good" ] || fail "good.ckpt changed: $(cat out.txt) vs $good"
exit 0
