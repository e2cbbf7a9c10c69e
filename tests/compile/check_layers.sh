#!/usr/bin/env bash
# The lowering pass is layered one way: each compiler/lower*.c calls (or
# takes the address of) functions of lower layers only, in the order the
# table of compiler/lower_internal.h declares ("layer N  FILE"). Upward
# needs go through the hook table in the context. Every lower*.c must be in
# the table, and no tensor is passed, returned or held by value (tensors
# are variable-sized, on the context's tensor stack). The check is run on
# the tree, then on copies with an upward call and a tensor by value
# planted, which it must refuse.
set -u
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

# check DIR: DIR holds lower_internal.h and the lower*.c files.
check() {
  local dir=$1
  perl -e '
    use strict;
    my $dir = shift;
    my $strip = sub {   # comments and strings out, lines kept
      my $s = shift;
      $s =~ s{/\*(.*?)\*/}{"\n" x ($1 =~ tr/\n//)}gse;
      $s =~ s{//[^\n]*}{}g;
      $s =~ s{"(?:\\.|[^"\\\n])*"}{""}g;
      $s =~ s{\x27(?:\\.|[^\x27\\\n])*\x27}{0}g;
      return $s;
    };
    open my $h, "<", "$dir/lower_internal.h" or die "no lower_internal.h\n";
    my %layer;
    while (<$h>) { $layer{$2} = $1 if /^ \*\s+layer\s+(\d+)\s+(lower\w*\.c)\b/; }
    my @files = map { s{.*/}{}r } glob("$dir/lower*.c");
    my $bad = 0;
    for my $f (@files) {
      next if exists $layer{$f};
      print "FAIL $f is not in the layer table of lower_internal.h\n"; $bad++;
    }
    my (%src, %home);
    for my $f (@files) {
      local $/; open my $in, "<", "$dir/$f" or die; $src{$f} = $strip->(<$in>);
      for my $line (split /\n/, $src{$f}) {   # external definitions: type at column 0, not static, no ;
        next if $line =~ /^(static|#|\s|\{|\})/ || $line =~ /;\s*$/;
        $home{$1} = $f if $line =~ /\b(lw_\w+|phys_lower\w*)\s*\(/;
      }
    }
    for my $f (@files) {
      my $n = 0;
      for my $line (split /\n/, $src{$f}) {
        $n++;
        while ($line =~ /\b(lw_\w+|phys_lower\w*)\b(\s*\()?/g) {
          my ($name, $call) = ($1, $2);
          my $to = $home{$name};
          if (!defined $to) {
            if ($call) { print "FAIL $f:$n: $name() is not defined in any lower*.c (or this check cannot see it)\n"; $bad++; }
            next;
          }
          next if $to eq $f || !exists $layer{$f} || !exists $layer{$to};
          next if $layer{$to} < $layer{$f};
          print "FAIL $f:$n: $name of $to (layer $layer{$to}) used by layer $layer{$f}: only lower layers may be called\n";
          $bad++;
        }
      }
    }
    # no tensor by value: parameters, returns and locals are tensor pointers
    for my $f (@files, "lower_internal.h") {
      my $text = $f eq "lower_internal.h" ? do { local $/; open my $in, "<", "$dir/$f" or die; $strip->(<$in>) } : $src{$f};
      my $n = 0;
      for my $line (split /\n/, $text) {
        $n++;
        next unless $line =~ /\btensor\s+(?!\*)[A-Za-z_]/;
        print "FAIL $f:$n: a tensor by value (tensors are passed as pointers): $line\n"; $bad++;
      }
    }
    exit($bad ? 1 : 0);
  ' "$dir"
}

if check "$root/compiler"; then
  echo "ok   the lowering's files call downward only"
else
  echo "FAIL the lowering's layers"; fail=$((fail + 1))
fi

# The check must refuse what is planted in a copy of the files.
planted() { # planted FILE CODE EXPECTED-REPORT WHAT
  cp "$root"/compiler/lower_internal.h "$root"/compiler/lower*.c "$work"/
  printf '%s' "$2" >> "$work/$1"
  if check "$work" > "$work/out" 2>&1; then
    echo "FAIL $4 passed the check"; fail=$((fail + 1))
  elif grep -q "$3" "$work/out"; then
    echo "ok   $4 is refused"
  else
    echo "FAIL $4 was refused for another reason:"; cat "$work/out"; fail=$((fail + 1))
  fi
}
planted lower_probe.c $'\nvoid lw_planted(lctx *c, const phys_node *d)\n{\n    lw_lower_simulation(c, d);\n}\n' \
  'lower_probe.c:.*lw_lower_simulation' "a call from lower_probe.c up to lower_dynamics.c"
planted lower_expr.c $'\nstatic int planted(tensor t)\n{\n    return t.n;\n}\n' \
  'lower_expr.c:.*a tensor by value' "a tensor by value"
exit $fail
