# (c) The eval verb: CSV header and columns (grid variables, every field with
# all inputs given, multi-output name[k], derivative columns), row order
# (first variable slowest), derivative columns against finite differences of
# eval's own values (plain fields up to a mixed second derivative, and a
# hard-constrained field through its transform), and usage errors (exit 2).
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_fields

run 0 "$P" train --steps 0 --quiet          # no terms: writes the initial values
[ -s tm_fields.ckpt ] || fail "no checkpoint"
run 0 "$P" params
[ "$(cat out.txt)" = "k = 1.5" ] || fail "params: $(cat out.txt)"

run 0 "$P" eval x=0:1:3 t=0:2:2
[ "$(head -1 out.txt)" = "x,t,u_0,u_1,v,w" ] || fail "header: $(head -1 out.txt)"
[ "$(wc -l < out.txt)" = 7 ] || fail "expected 6 rows"
[ "$(awk -F, 'NR > 1 { printf "%s %s|", $1, $2 }' out.txt)" = "0 0|0 2|0.5 0|0.5 2|1 0|1 2|" ] \
    || fail "row order: $(cat out.txt)"
awk_check 'NR > 1 && NF != 6 { exit 1 } NR > 1 && ($1 == 0 || $1 == 1) && $6 != 0 { exit 1 }' \
    "rows must have 6 columns and the hard-constrained w must vanish at x = 0 and 1"

run 0 "$P" eval x=0.25
[ "$(head -1 out.txt)" = "x,v,w" ] || fail "only v and w have all inputs: $(head -1 out.txt)"
[ "$(wc -l < out.txt)" = 2 ] || fail "VAR=a is one point"

# first derivatives: central differences with h = 1e-3
run 0 "$P" eval 'x=0.299:0.301:3' 'd(v,x)' 'd( w , x )'
[ "$(head -1 out.txt)" = 'x,v,w,d_v_x,d_w_x' ] || fail "header: $(head -1 out.txt)"
awk_check 'NR > 1 { x[NR] = $1; v[NR] = $2; w[NR] = $3; dv[NR] = $4; dw[NR] = $5 }
    END { h2 = x[4] - x[2]; fv = (v[4] - v[2]) / h2; fw = (w[4] - w[2]) / h2;
          printf "d(v,x) %.10g fd %.10g; d(w,x) %.10g fd %.10g\n", dv[3], fv, dw[3], fw > "/dev/stderr";
          ev = fv - dv[3]; ew = fw - dw[3]; if (ev < 0) ev = -ev; if (ew < 0) ew = -ew;
          exit !(ev <= 1e-5 * (1 + (dv[3] < 0 ? -dv[3] : dv[3])) && ew <= 1e-5 * (1 + (dw[3] < 0 ? -dw[3] : dw[3]))) }' \
    "first derivatives disagree with finite differences"

# second derivatives
run 0 "$P" eval 'x=0.299:0.301:3' 'd(v,x,x)' 'd(w,x,x)'
awk_check 'NR > 1 { x[NR] = $1; v[NR] = $2; w[NR] = $3; dv[NR] = $4; dw[NR] = $5 }
    END { h = (x[4] - x[2]) / 2; fv = (v[4] - 2 * v[3] + v[2]) / (h * h); fw = (w[4] - 2 * w[3] + w[2]) / (h * h);
          printf "d(v,x,x) %.10g fd %.10g; d(w,x,x) %.10g fd %.10g\n", dv[3], fv, dw[3], fw > "/dev/stderr";
          ev = fv - dv[3]; ew = fw - dw[3]; if (ev < 0) ev = -ev; if (ew < 0) ew = -ew;
          exit !(ev <= 1e-4 * (1 + (dv[3] < 0 ? -dv[3] : dv[3])) && ew <= 1e-4 * (1 + (dw[3] < 0 ? -dw[3] : dw[3]))) }' \
    "second derivatives disagree with finite differences"

# mixed derivative of a two-output field over a 3 x 3 grid
run 0 "$P" eval 'x=0.399:0.401:3' 't=0.499:0.501:3' 'd(u,x,t)' 'd(u,t)'
[ "$(head -1 out.txt)" = 'x,t,u_0,u_1,v,w,d_u_x_t_0,d_u_x_t_1,d_u_t_0,d_u_t_1' ] \
    || fail "header: $(head -1 out.txt)"
awk_check 'NR > 1 { k = NR - 2; i = int(k / 3); j = k % 3; X[i] = $1; Tt[j] = $2;
                    for (o = 0; o < 2; o++) { U[o, i, j] = $(3 + o); if (i == 1 && j == 1) { dxt[o] = $(7 + o); dt[o] = $(9 + o) } } }
    END { hx = X[2] - X[0]; ht = Tt[2] - Tt[0]; bad = 0;
          for (o = 0; o < 2; o++) {
              f = (U[o, 2, 2] - U[o, 2, 0] - U[o, 0, 2] + U[o, 0, 0]) / (hx * ht);
              g = (U[o, 1, 2] - U[o, 1, 0]) / ht;
              printf "output %d: d(u,x,t) %.10g fd %.10g; d(u,t) %.10g fd %.10g\n", o, dxt[o], f, dt[o], g > "/dev/stderr";
              e = f - dxt[o]; if (e < 0) e = -e; if (e > 1e-4 * (1 + (dxt[o] < 0 ? -dxt[o] : dxt[o]))) bad = 1;
              e = g - dt[o]; if (e < 0) e = -e; if (e > 1e-5 * (1 + (dt[o] < 0 ? -dt[o] : dt[o]))) bad = 1 }
          exit bad }' \
    "mixed derivatives disagree with finite differences"

# usage errors: exit 2, named
run 2 "$P" eval y=0:1:3;                  err_has "unknown variable 'y'"
run 2 "$P" eval x=0:1;                    err_has "bad range '0:1' for x"
run 2 "$P" eval x=a:1:3;                  err_has "bad range 'a:1:3' for x"
run 2 "$P" eval x=0:1:0;                  err_has "bad point count '0' for x"
run 2 "$P" eval x=0:1:3 x=2;              err_has "variable 'x' is given twice"
run 2 "$P" eval;                          err_has "no grid given"
run 2 "$P" eval t=0:1:3;                  err_has "no field has all its inputs given"
run 2 "$P" eval x=0:1:3 'd(q,x)';         err_has "unknown field 'q' in 'd(q,x)' (fields: u, v, w)"
run 2 "$P" eval x=0:1:3 'd(u,x)';         err_has "missing input for d(u,x)"
err_has "t=..."
run 2 "$P" eval x=0:1:3 'd(v,t)';         err_has "'t' is not an input of v"
run 2 "$P" eval x=0:1:3 'd(v,x,x,x,x,x)'; err_has "derivatives go up to order 4"
run 2 "$P" eval x=0:1:3 'd(w,x,x,x)';     err_has "hard constraint"
run 2 "$P" eval x=0:1:3 'u';              err_has "missing input for u: u(x, t) needs t=..."
run 2 "$P" eval x=0:1:3 'nosuch';         err_has "'nosuch' is not a derivative d(FIELD, INPUT, ...), an equation, a constant or a let of the model"
run 2 "$P" eval x=0:1:3 --bogus;          err_has "unknown option '--bogus'"
# an order-4 column of a plain field is fine
run 0 "$P" eval x=0:1:2 'd(v,x,x,x,x)'
[ "$(head -1 out.txt)" = 'x,v,w,d_v_x_x_x_x' ] || fail "order 4 header: $(head -1 out.txt)"
# runtime error: no checkpoint
run 1 "$P" eval x=0:1:3 --checkpoint missing.ckpt
err_has "cannot read checkpoint missing.ckpt: No such file or directory"
exit 0
