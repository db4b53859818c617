# Shared by the shell tests (sourced): counters, checks and the summary.  The sourcing script sets
# $work (a scratch folder) before calling expect_code.
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   - $1"; }
no() { fail=$((fail+1)); echo "FAIL - $1"; }
expect_code() { # name expected_code command...  (stdout to $work/out.txt, stderr to $work/err.txt)
  local name=$1 want=$2; shift 2
  "$@" >"$work/out.txt" 2>"$work/err.txt"; local got=$?
  if [ "$got" = "$want" ]; then ok "$name (exit $got)"; else no "$name: exit $got, wanted $want: $(head -c 600 "$work/err.txt")"; fi
}
has() { # name file pattern
  if grep -q -- "$3" "$2"; then ok "$1"; else no "$1: '$3' not in $2: $(head -c 400 "$2")"; fi
}
finish() { # the summary line; the exit status says whether every check passed
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
}
