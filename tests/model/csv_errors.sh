# (e) Data file errors: each names file:line[:col] and the cause, exits 1,
# and writes no checkpoint.
. "$(dirname "$0")/lib.sh"
P=$BIN/tm_linfit

refused() {   # MESSAGE
    run 1 "$P" train --quiet
    err_has "$1"
    [ ! -e tm_linfit.ckpt ] || fail "a checkpoint was written despite the data error"
}

refused "tm_linfit: error: data file linfit.csv of term 'obs' not found: no linfit.csv"
: > linfit.csv
refused "linfit.csv:1: error: the file is empty (expected a header row of column names)"
printf '# only a comment\n\n' > linfit.csv
refused "linfit.csv:2: error: no header row (the file holds only blank lines and comments)"
printf 'x,z\n1,2\n' > linfit.csv
refused "linfit.csv:1: error: no column 'y' in the header (columns: 'x', 'z')"
printf '# header next\nx,y\n1,2\n3,abc\n' > linfit.csv
refused "linfit.csv:4:3: error: 'abc' is not a number (column y)"
printf 'x,y\n1,2\n nan ,4\n' > linfit.csv
refused "linfit.csv:3:2: error: 'nan' is not a finite number (column x)"
printf 'x,y\n1,inf\n' > linfit.csv
refused "linfit.csv:2:3: error: 'inf' is not a finite number (column y)"
printf 'x,y\n1,1e999\n' > linfit.csv
refused "linfit.csv:2:3: error: '1e999' is not a finite number (column y)"
printf 'x,y\n1,2\n\n3,4,5\n' > linfit.csv
refused "linfit.csv:4: error: the row has 3 fields, the header has 2"
printf 'x,y\n1\n' > linfit.csv
refused "linfit.csv:2: error: the row has 1 field, the header has 2"
printf 'x,y\n1,\n' > linfit.csv
refused "linfit.csv:2:3: error: empty value (column y)"
printf 'x,y\n# no rows\n\n' > linfit.csv
refused "linfit.csv:1: error: no data rows after the header"
printf 'x,"y\n1,2\n' > linfit.csv
refused "linfit.csv:1:3: error: unterminated quoted field"
printf 'x,y,x\n1,2,3\n' > linfit.csv
refused "linfit.csv:1:5: error: column 'x' appears twice in the header"
printf 'x,y\n1,2x\n' > linfit.csv
refused "linfit.csv:2:3: error: '2x' is not a number (column y)"
# hex floats and exponents are numbers (strtod, C locale)
printf 'x,y\n0x1p-1,1e0\n 2 , "3.5" \n' > linfit.csv
run 0 "$P" train --quiet
exit 0
