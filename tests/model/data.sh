# (b) A data term read from a CSV file (comments, blank lines, quoted and
# padded header names, extra columns, CRLF line ends) fitting y = a x + b
# with trainable constants a and b; params prints them.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_linfit

printf '# observations of y = 2.5 x - 0.75\n\n "x" , other,"y"\r\n' > linfit.csv
i=0
while [ $i -le 10 ]; do
    awk -v i=$i 'BEGIN { x = i / 10; printf "%.17g, junk%d ,%.17g\r\n", x, i, 2.5 * x - 0.75 }' >> linfit.csv
    [ $i = 5 ] && printf '  # a comment between rows\n\n' >> linfit.csv
    i=$((i + 1))
done

run 0 "$P" train
err_has "trained linfit: "
run 0 "$P" params
[ "$(wc -l < out.txt)" = 2 ] || fail "params should print two lines: $(cat out.txt)"
awk -F' = ' '$1 == "a" { a = $2; na++ } $1 == "b" { b = $2; nb++ }
     END { printf "fit: a = %.12g, b = %.12g\n", a, b > "/dev/stderr";
           exit !(na == 1 && nb == 1 && (a - 2.5)^2 < 1e-12 && (b + 0.75)^2 < 1e-12) }' out.txt \
    || fail "a, b not fitted: $(cat out.txt)"
# the format is name = %.10g
grep -Eq '^a = 2\.5(0*[0-9]*)?$|^a = 2\.4999999' out.txt || fail "params format: $(cat out.txt)"

# float32 training of the same data
run 0 "$P" train --precision f32 --checkpoint f32.ckpt
run 0 "$P" params --checkpoint f32.ckpt
awk -F' = ' '$1 == "a" { a = $2 } $1 == "b" { b = $2 } END { exit !((a - 2.5)^2 < 1e-8 && (b + 0.75)^2 < 1e-8) }' out.txt \
    || fail "float32 fit: $(cat out.txt)"

# an absolute data path is not resolved against source_dir: covered by the
# relative case here (source_dir empty = current directory)
exit 0
