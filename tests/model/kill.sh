# (f) kill -9 during training: a long training saving a checkpoint after
# every step (hidden option --checkpoint-interval 0) is killed with SIGKILL
# at five different moments; each time the checkpoint must still load
# (params, eval), and the next round resumes from it.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_poisson_long

for delay in 0.03 0.31 0.17 0.52 0.09; do
    resume=
    [ -e k.ckpt ] && resume=--resume
    "$P" train $resume --checkpoint k.ckpt --checkpoint-interval 0 --quiet --threads 2 2>train.err &
    pid=$!
    n=0
    while [ ! -e k.ckpt ] && [ $n -lt 400 ]; do
        sleep 0.05
        n=$((n + 1))
    done
    if [ ! -e k.ckpt ]; then
        kill -9 $pid
        fail "no checkpoint after 20 s: $(cat train.err)"
    fi
    sleep $delay
    kill -9 $pid
    wait $pid
    status=$?
    [ $status = 137 ] || fail "training was not killed (status $status): $(cat train.err)"
    run 0 "$P" params --checkpoint k.ckpt
    run 0 "$P" eval x=0:1:3 --checkpoint k.ckpt
    [ "$(wc -l < out.txt)" = 4 ] || fail "eval after kill: $(cat out.txt)"
done
exit 0
