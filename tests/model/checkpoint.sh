# (d) Checkpoints: a round trip (train, params, eval; reloading gives
# identical output; resuming with no steps rewrites the identical file;
# resuming continues the schedule), and refusal, with a named error and
# exit 1, of corrupt, truncated, empty, foreign-format, other-model,
# other-structure and other-version files.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_poisson
L=$BIN/tm_linfit

run 0 "$P" train --steps 50 --quiet
run 0 "$P" eval x=-1:1:11 'd(u,x)' 'd(u,x,x)'
cp out.txt eval1.txt
run 0 "$P" eval x=-1:1:11 'd(u,x)' 'd(u,x,x)'
cmp -s eval1.txt out.txt || fail "eval after reload differs"
cp tm_poisson.ckpt before.ckpt
run 0 "$P" train --resume --steps 0 --quiet
cmp -s before.ckpt tm_poisson.ckpt || fail "resume with --steps 0 changed the checkpoint"
run 0 "$P" eval x=-1:1:11 'd(u,x)' 'd(u,x,x)'
cmp -s eval1.txt out.txt || fail "eval after resume differs"
# resume continues at schedule position 50
run 0 "$P" train --resume --steps 10
err_has "step 60/60 adam"
err_has "trained poisson: 10 steps"

printf 'x,y\n0,1\n1,3\n2,5\n' > linfit.csv
run 0 "$L" train --quiet
run 0 "$L" params
cp out.txt params1.txt
grep -q '^a = 2$' params1.txt && grep -q '^b = 1$' params1.txt || fail "linfit params: $(cat params1.txt)"
run 0 "$L" train --resume --steps 0 --quiet
run 0 "$L" params
cmp -s params1.txt out.txt || fail "params after resume differ"

# damaged copies of tm_poisson.ckpt
size=$(wc -c < tm_poisson.ckpt)
cp tm_poisson.ckpt flipped.ckpt
printf '\377' | dd of=flipped.ckpt bs=1 seek=300 conv=notrunc 2>/dev/null
head -c $((size / 2)) tm_poisson.ckpt > half.ckpt
head -c 20 tm_poisson.ckpt > head20.ckpt
: > empty.ckpt
echo "hello, I am not a checkpoint" > text.ckpt
cp tm_poisson.ckpt version.ckpt
printf '\007' | dd of=version.ckpt bs=1 seek=8 conv=notrunc 2>/dev/null
cp tm_poisson.ckpt long.ckpt
printf 'x' >> long.ckpt
run 0 "$BIN/tm_poisson_long" train --steps 1 --quiet --checkpoint other_structure.ckpt

check_refused() {   # FILE MESSAGE
    run 1 "$P" params --checkpoint "$1";           err_has "$2"
    run 1 "$P" eval x=0:1:3 --checkpoint "$1";     err_has "$2"
    run 1 "$P" train --resume --checkpoint "$1";   err_has "$2"
}
check_refused flipped.ckpt "checkpoint flipped.ckpt is corrupt (checksum mismatch)"
check_refused half.ckpt "checkpoint half.ckpt is truncated"
check_refused head20.ckpt "checkpoint head20.ckpt is truncated"
check_refused empty.ckpt "checkpoint empty.ckpt is empty"
check_refused text.ckpt "text.ckpt is not a physc checkpoint (bad magic number)"
check_refused version.ckpt "checkpoint version.ckpt has format version 7"
check_refused long.ckpt "checkpoint long.ckpt is corrupt (1 unexpected bytes after the end)"
check_refused tm_linfit.ckpt "checkpoint tm_linfit.ckpt belongs to model 'linfit', not to model 'poisson'"
check_refused other_structure.ckpt "was written by model 'poisson' with another structure"
check_refused nonexistent.ckpt "cannot read checkpoint nonexistent.ckpt: No such file or directory"
# a refused resume leaves the file alone
cmp -s before.ckpt tm_poisson.ckpt && fail "tm_poisson.ckpt should have moved on after the resumed training"
cp flipped.ckpt flipped_copy.ckpt
run 1 "$P" train --resume --checkpoint flipped.ckpt
cmp -s flipped.ckpt flipped_copy.ckpt || fail "a refused resume modified the checkpoint"
exit 0
