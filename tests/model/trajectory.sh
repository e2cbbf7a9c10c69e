# Trajectory data (pair_rows): a data term whose points are pairs of
# consecutive rows of one trajectory; a time that does not increase starts
# the next one. Loading with two trajectories and a time reset trains; the
# CSV errors stay named; a file without any pair is refused.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_hnn

printf 't,q,p\n0,1,0\n0.1,0.98,-0.2\n0.2,0.92,-0.39\n0,0.5,0.5\n0.1,0.6,0.4\n' > hnn_traj.csv
run 0 "$P" train --steps 20 --quiet
[ -s tm_hnn.ckpt ] || fail "no checkpoint"
run 0 "$P" simulate --steps 50
out_has "simulate roll: leapfrog"

refused() {   # MESSAGE
    rm -f tm_hnn.ckpt
    run 1 "$P" train --quiet
    err_has "$1"
    [ ! -e tm_hnn.ckpt ] || fail "a checkpoint was written despite the data error"
}
printf 't,q\n0,1\n' > hnn_traj.csv
refused "hnn_traj.csv:1: error: no column 'p' in the header (columns: 't', 'q')"
printf 't,q,p\n0,1,0\n0.1,x,0\n' > hnn_traj.csv
refused "hnn_traj.csv:3:5: error: 'x' is not a number (column q)"
printf 't,q,p\n0,1,0\nnan,1,0\n' > hnn_traj.csv
refused "hnn_traj.csv:3:1: error: 'nan' is not a finite number (column t)"
printf 't,q,p\n0,1,0\n' > hnn_traj.csv
refused "hnn_traj.csv: error: no two consecutive rows of one trajectory in the 1 row"
printf 't,q,p\n1,1,0\n1,2,0\n0.5,3,0\n' > hnn_traj.csv
refused "hnn_traj.csv: error: no two consecutive rows of one trajectory in the 3 rows (a trajectory's time, column 't', must increase"
exit 0
