#!/usr/bin/env bash
# End-to-end test of propensity compare: gen -> compare (last-month and stratified splits), the JSON
# against the schema tables of bench/README.md (both directions), the HTML's self-containment, and
# the HTML rendered in headless Chromium (charts in the DOM, a screenshot that is not blank).
# Usage: bash compare_test.sh CLI_PATH BUILD_DIR
set -uo pipefail
cli=$1
src_dir=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
chromium=/usr/bin/chromium
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$src_dir/tests/harness.sh"
check() { # name python-script args... : the script prints problems, one a line; none = pass
  local name=$1; shift
  if "$py" "$@" >"$work/check.txt" 2>&1; then ok "$name"; else no "$name: $(head -c 1500 "$work/check.txt")"; fi
}

recipe=$src_dir/tests/recipes/small.json
expect_code "gen" 0 "$cli" gen --out-dir "$work/demo" --customers 500 --months 4 --seed 9

# ---- last-month split with the back-test ----------------------------------------------------------
expect_code "compare, last month held out" 0 "$cli" compare --data "$work/demo/history.csv" --target accepted \
  --id customer_id --ignore installment_amount --connected connected --time-col month --recipe "$recipe" \
  --threads 2 --json "$work/a.json" --html "$work/a.html"
cp "$work/out.txt" "$work/a_stdout.txt"
[ -s "$work/a.json" ] && ok "JSON written" || no "JSON written"
[ -s "$work/a.html" ] && ok "HTML written" || no "HTML written"
ls "$work"/*.tmp.* >/dev/null 2>&1 && no "no temporary files left" || ok "no temporary files left"
for m in xgboost random_forest svc decision_tree knn logistic ensemble; do
  has "stdout table lists $m" "$work/a_stdout.txt" "^$m "
done
has "stdout names both files" "$work/a_stdout.txt" "wrote $work/a.json and $work/a.html"

# The JSON against bench/README.md's tables: every documented field present with its type, every
# field present documented; then the values that must hold.
cat >"$work/schema.py" <<'PY'
import json, re, sys
doc, report = sys.argv[1], sys.argv[2]
fields = {}
section = False  # only the tables of the section "## The JSON report, field by field" document fields
for line in open(doc, encoding="utf-8"):
    if line.startswith("## "): section = line.startswith("## The JSON report")
    m = re.match(r"^\| `([^`]+)` \| ([^|]+) \|", line)
    if section and m: fields[m.group(1)] = m.group(2).strip()
if len(fields) < 60: sys.exit(f"only {len(fields)} documented fields found in {doc}")
r = json.load(open(report))
problems = []
def type_ok(v, t):
    base = t.replace(", optional", "").strip()
    nullable = base.endswith(" or null")
    base = base.replace(" or null", "")
    if v is None: return nullable
    if base == "integer": return isinstance(v, int) and not isinstance(v, bool)
    if base == "number": return isinstance(v, (int, float)) and not isinstance(v, bool)
    if base == "string": return isinstance(v, str)
    if base == "boolean": return isinstance(v, bool)
    if base == "object": return isinstance(v, dict)
    if base == "array": return isinstance(v, list)
    if base == "[x, y] array":
        return isinstance(v, list) and all(isinstance(p, list) and len(p) == 2 and
                                           all(isinstance(c, (int, float)) for c in p) for p in v)
    problems.append(f"unknown type '{t}' in the documentation"); return True
class Missing:
    def __init__(self, depth): self.depth = depth
def values(node, parts, depth=0):
    """Every value reached by the documented path parts; Missing(depth) where parts[depth] is absent."""
    if depth == len(parts): yield node; return
    key = parts[depth]
    arr = key.endswith("[]")
    name = key[:-2] if arr else key
    if not isinstance(node, dict) or name not in node: yield Missing(depth); return
    v = node[name]
    if arr:
        if not isinstance(v, list): yield TypeError; return
        for e in v: yield from values(e, parts, depth + 1)
    else:
        yield from values(v, parts, depth + 1)
def optional(parts, depth):
    """True when the field that is absent (parts[depth]) is documented as optional."""
    pre = ".".join(parts[:depth + 1])
    return "optional" in fields.get(pre[:-2] if pre.endswith("[]") else pre, "")
for path, t in fields.items():
    parts = re.findall(r"[a-z_0-9]+(?:\[\])?", path)
    for v in values(r, parts):
        if isinstance(v, Missing):
            if not optional(parts, v.depth): problems.append(f"{path}: documented but missing")
        elif v is TypeError: problems.append(f"{path}: not an array where documented")
        elif not type_ok(v, t): problems.append(f"{path}: {json.dumps(v)[:60]} is not {t}")
# the other direction: every field present is documented (the recipe's own fields are in models/README.md)
def walk(node, path):
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{path}.{k}" if path else k
            if p not in fields: problems.append(f"{p}: present but not documented")
            elif fields[p] in ("object", "object, optional") and p != "recipe" or fields[p].startswith("array"):
                walk(v, p)
    elif isinstance(node, list):
        for e in node: walk(e, path + "[]")
walk(r, "")
print("\n".join(sorted(set(problems))))
sys.exit(1 if problems else 0)
PY
check "JSON matches the documented schema (last-month split)" "$work/schema.py" "$src_dir/bench/README.md" "$work/a.json"

cat >"$work/values.py" <<'PY'
import json, sys, hashlib
r = json.load(open(sys.argv[1])); data = sys.argv[2]; mode = sys.argv[3]
p = []
def want(cond, msg):
    if not cond: p.append(msg)
want(r["schema_version"] == 1, "schema_version is 1")
want(r["tool"] == "propensity compare", "tool")
ds = r["dataset"]
want(ds["sha256"] == hashlib.sha256(open(data, "rb").read()).hexdigest(), "sha256 of the data file")
want(ds["bytes"] == len(open(data, "rb").read()), "bytes")
rows = sum(1 for _ in open(data)) - 1
want(ds["rows"] == rows, f"rows {ds['rows']} != {rows}")
want(ds["train_rows"] + ds["test_rows"] == rows, "train + test = rows")
want(r["machine"]["threads_used"] >= 1 and r["machine"]["cores"] >= 1, "machine")
names = [m["name"] for m in r["models"]]
want(names == ["xgboost", "random_forest", "svc", "decision_tree", "knn", "logistic", "ensemble"], f"models {names}")
for m in r["models"]:
    n = m["name"]
    for k in ("auc", "pr_auc", "ks", "brier", "ece", "capture_10", "capture_20", "capture_30"):
        want(isinstance(m[k], (int, float)) and 0 <= m[k] <= 1, f"{n}.{k} = {m[k]} in [0,1]")
    want(m["auc"] > 0.6, f"{n}: AUC {m['auc']} above chance")
    want(m["capture_10"] <= m["capture_20"] <= m["capture_30"], f"{n}: captures increase")
    for f in (10, 20, 30):
        want(abs(m[f"lift_{f}"] - m[f"capture_{f}"] / (f / 100)) < 1e-6, f"{n}: lift_{f}")
    want(m["fit_seconds"] > 0 and m["predict_rows_per_second"] > 0, f"{n}: timings positive")
    want(0 < m["latency_p50_us"] <= m["latency_p99_us"], f"{n}: p50 <= p99")
    want(m["latency_runs"] == (300 if mode == "stratified" else 2000), f"{n}: latency_runs {m['latency_runs']}")
    roc, gains = m["curves"]["roc"], m["curves"]["gains"]
    want(2 <= len(roc) <= 200 and roc[0] == [0, 0] and roc[-1] == [1, 1], f"{n}: ROC ends")
    want(len(gains) == 101 and gains[0] == [0, 0] and gains[-1] == [1, 1], f"{n}: gains ends")
    want(abs(gains[30][1] - m["capture_30"]) < 1e-9, f"{n}: gains at 30% = capture_30")
    want(sum(b["count"] for b in m["curves"]["reliability"]) == ds["test_rows"], f"{n}: reliability counts")
want(sum(b["count"] for b in r["bands"]) == ds["test_rows"], "band counts sum to the test rows")
want(sum(b["positives"] for b in r["bands"]) == ds["test_positives"], "band positives")
want(len(r["bands"]) == 7, "seven bands")
want(all(b["lo"] <= b["mean_probability"] <= b["hi"] for b in r["bands"] if b["count"]),
     "each band's mean probability lies in its range (bands cut from the calibrated probabilities)")
ens = r["models"][-1]
# the band table and the ensemble's reliability curve sum the same calibrated probabilities
s_bands = sum(b["count"] * b["mean_probability"] for b in r["bands"] if b["count"])
s_rel = sum(b["count"] * b["mean_predicted"] for b in ens["curves"]["reliability"])
want(abs(s_bands - s_rel) <= 1e-6 * ds["test_rows"], f"bands and reliability sum the same probabilities ({s_bands} vs {s_rel})")
want(ens["name"] == "ensemble" and 0 <= ens["ece_uncalibrated"] <= 1 and 0 <= ens["auc_uncalibrated"] <= 1,
     "ensemble: ECE and AUC before calibration")
want(abs(sum(e["share"] for e in r["importance"]) - 1) < 1e-9, "importance shares sum to 1")
c = r["contributions"]
want(c["rows"] == min(ds["test_rows"], 1000) and abs(sum(e["share"] for e in c["inputs"]) - 1) < 1e-9,
     "contributions: every test row up to 1000 explained, shares sum to 1")
want(all(c["inputs"][i]["mean_abs"] >= c["inputs"][i + 1]["mean_abs"] for i in range(len(c["inputs"]) - 1)),
     "contributions: largest first")
want(all(len(e["points"]) > 0 for e in c["inputs"][:min(10, len(c["inputs"]))]), "contributions: the top inputs' points")
# DeLong intervals, the paired tests and the recommendation's rule, recomputed from the report
for m in r["models"]:
    want(m["auc_ci_low"] - 1e-9 <= m["auc"] <= m["auc_ci_high"] + 1e-9 and m["auc_se"] > 0, f"{m['name']}: AUC interval")
    if m["name"] != "ensemble":
        t = m["vs_ensemble"]
        want(abs(t["auc_difference"] - (ens["auc"] - m["auc"])) < 1e-8, f"{m['name']}: difference = ensemble - member")
        want(t["ci_low"] <= t["auc_difference"] <= t["ci_high"] and 0 <= t["p_value"] <= 1, f"{m['name']}: test")
    else:
        want("vs_ensemble" not in m, "the ensemble has no test against itself")
a, mem, rec = 0.05, r["models"][:-1], r["recommendation"]
better = [m for m in mem if m["vs_ensemble"]["auc_difference"] < 0 and m["vs_ensemble"]["p_value"] < a]
tied = [m for m in mem if not (m["vs_ensemble"]["auc_difference"] > 0 and m["vs_ensemble"]["p_value"] < a)]
cheap = [m for m in tied if m["latency_p99_us"] < ens["latency_p99_us"]]
if better: rule, model = "member_better", max(better, key=lambda m: m["auc"])["name"]
elif cheap: rule, model = "member_not_worse", min(cheap, key=lambda m: (m["latency_p99_us"], m["fit_seconds"]))["name"]
else: rule, model = ("ensemble_not_slower" if tied else "ensemble_better"), "ensemble"
want((rec["rule"], rec["model"]) == (rule, model), f"recommendation {rec['rule']}/{rec['model']}, rule says {rule}/{model}")
want(rec["not_worse_than_ensemble"] == [m["name"] for m in tied], "members not shown worse")
want(rec["text"].startswith("Use the ensemble." if model == "ensemble" else f"Use {model} alone."), rec["text"][:60])
want(rec["alpha"] == a and r["min_rows"] == 30, "alpha and min_rows")
for m in r["models"]:
    want(all(b["few_rows"] == (b["count"] < 30) for b in m["curves"]["reliability"]), f"{m['name']}: few-row bins")
want(all(b["few_rows"] == (0 < b["count"] < 30) for b in r["bands"]), "few-row bands")
if mode == "last_month":
    want(ds["split"]["method"] == "last_month" and ds["split"]["test_month"] == 3, "split: month 3 held out")
    want([m["month"] for m in r["months"]] == [2, 3], f"back-test months {[m['month'] for m in r['months']]}")
    want(abs(r["months"][-1]["auc"] - r["models"][-1]["auc"]) < 1e-8, "last back-test month = the ensemble's split")
    want(all(isinstance(b["connect_rate"], float) for b in r["bands"] if b["count"]), "connect rates")
else:
    want(ds["split"]["method"] == "stratified" and ds["split"]["test_frac"] == 0.25 and ds["split"]["seed"] == 3,
         "split: stratified 25%, seed 3")
    want(abs(ds["test_rows"] - 0.25 * rows) <= 1, "test share 25%")
    want(r["months"] == [], "no months without a time column")
    want(all(b["connect_rate"] is None for b in r["bands"]), "no connect rates without --connected")
print("\n".join(p)); sys.exit(1 if p else 0)
PY
check "JSON values (last-month split)" "$work/values.py" "$work/a.json" "$work/demo/history.csv" last_month

# ---- stratified split, no time column -------------------------------------------------------------
expect_code "compare, stratified split" 0 "$cli" compare --data "$work/demo/latest.csv" --target accepted \
  --id customer_id --ignore installment_amount,month,connected --test-frac 0.25 --seed 3 --recipe "$recipe" \
  --latency-runs 300 --json "$work/b.json" --html "$work/b.html"
check "JSON matches the documented schema (stratified split)" "$work/schema.py" "$src_dir/bench/README.md" "$work/b.json"
check "JSON values (stratified split)" "$work/values.py" "$work/b.json" "$work/demo/latest.csv" stratified
grep -q 'id="chart-months"' "$work/b.html" && no "no month chart without months" || ok "no month chart without months"
has "the report says why there is no back-test" "$work/b.html" "No time column"

# ---- an explicit test file (--test-data): no split, exactly the rows of the two files -------------
expect_code "compare, --test-data" 0 "$cli" compare --data "$work/demo/history.csv" \
  --test-data "$work/demo/latest.csv" --target accepted --id customer_id --ignore installment_amount,connected \
  --time-col month --no-backtest --recipe "$recipe" --latency-runs 300 --json "$work/t.json" --html "$work/t.html"
check "JSON matches the documented schema (--test-data)" "$work/schema.py" "$src_dir/bench/README.md" "$work/t.json"
cat >"$work/testdata.py" <<'PY'
import json, sys, hashlib
r = json.load(open(sys.argv[1])); train, test = sys.argv[2], sys.argv[3]
p = []
def want(cond, msg):
    if not cond: p.append(msg)
ds, sp = r["dataset"], r["dataset"]["split"]
lines = lambda f: sum(1 for _ in open(f)) - 1
want(sp["method"] == "test_data", f"method {sp['method']}")
want(sp["test_path"] == test, "test_path")
want(sp["test_sha256"] == hashlib.sha256(open(test, "rb").read()).hexdigest(), "test_sha256")
want(sp["test_bytes"] == len(open(test, "rb").read()), "test_bytes")
want(sp["test_frac"] is None and sp["seed"] is None and sp["test_month"] is None, "no split parameters")
want(ds["sha256"] == hashlib.sha256(open(train, "rb").read()).hexdigest(), "sha256 of the training file")
want(ds["train_rows"] == lines(train), f"train_rows {ds['train_rows']} = rows of {train}")
want(ds["test_rows"] == lines(test), f"test_rows {ds['test_rows']} = rows of {test}")
want(ds["rows"] == lines(train) + lines(test), "rows = both files")
pos = sum(1 for l in list(open(test))[1:] if l.split(",")[14] == "1")
want(ds["test_positives"] == pos, f"test_positives {ds['test_positives']} != {pos}")
want(ds["features"] == 11, f"features {ds['features']}: month, id, target, ignored kept out")
want(r["months"] == [], "--no-backtest")
want(sum(b["count"] for b in r["bands"]) == lines(test), "band counts = test rows")
print("\n".join(p)); sys.exit(1 if p else 0)
PY
check "JSON values (--test-data)" "$work/testdata.py" "$work/t.json" "$work/demo/history.csv" "$work/demo/latest.csv"
has "the report names the test file" "$work/t.html" "test rows <b>from $work/demo/latest.csv"
has "stdout names the split" "$work/out.txt" "split test_data"

# ---- months written as a bank writes them: 2026-01 ... 2026-06 --------------------------------------
expect_code "gen, six months of history" 0 "$cli" gen --out-dir "$work/six" --customers 200 --months 7 --seed 4
awk -F, -v OFS=, 'NR == 1 {print; next} {$2 = sprintf("2026-%02d", $2); print}' "$work/six/history.csv" >"$work/six/ym.csv"
[ "$(cut -d, -f2 "$work/six/ym.csv" | sort -u | tr '\n' ' ')" = "2026-01 2026-02 2026-03 2026-04 2026-05 2026-06 month " ] &&
  ok "months read 2026-01 ... 2026-06" || no "months: $(cut -d, -f2 "$work/six/ym.csv" | sort -u | tr '\n' ' ')"
expect_code "compare --time-col month on YYYY-MM months" 0 "$cli" compare --data "$work/six/ym.csv" --target accepted \
  --id customer_id --ignore installment_amount --connected connected --time-col month --recipe "$recipe" \
  --latency-runs 50 --json "$work/ym.json" --html "$work/ym.html"
check "JSON matches the documented schema (YYYY-MM months)" "$work/schema.py" "$src_dir/bench/README.md" "$work/ym.json"
cat >"$work/ym.py" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = []
def want(cond, msg):
    if not cond: p.append(msg)
sp = r["dataset"]["split"]
want(sp["method"] == "last_month" and sp["test_month"] == 202606 and sp["test_period"] == "2026-06",
     f"held-out month {sp['test_month']} / {sp['test_period']}")
want(r["dataset"]["test_rows"] == 200 and r["dataset"]["train_rows"] == 1000, "the last month's 200 rows held out")
want([m["period"] for m in r["months"]] == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06"],
     f"back-test periods {[m['period'] for m in r['months']]}")
want([m["month"] for m in r["months"]] == [202602, 202603, 202604, 202605, 202606], "back-test keys")
want([m["train_rows"] for m in r["months"]] == [200, 400, 600, 800, 1000], "each month trained on the ones before")
print("\n".join(p)); sys.exit(1 if p else 0)
PY
check "JSON values (YYYY-MM months)" "$work/ym.py" "$work/ym.json"
has "the report names the held-out month" "$work/ym.html" "month = 2026-06)"
has "the back-test chart labels its months" "$work/ym.html" '>2026-03</text>'
has "stdout names the held-out month" "$work/out.txt" "2026-06"

# ---- usage and input errors ----------------------------------------------------------------------
base=(--data "$work/demo/history.csv" --target accepted --id customer_id --recipe "$recipe")
expect_code "usage: --time-col with --test-frac" 1 "$cli" compare "${base[@]}" --time-col month --test-frac 0.3 \
  --json "$work/x.json" --html "$work/x.html"
expect_code "usage: --html missing" 1 "$cli" compare "${base[@]}" --json "$work/x.json"
expect_code "usage: bad --test-frac" 1 "$cli" compare "${base[@]}" --test-frac 1.5 --json "$work/x.json" --html "$work/x.html"
expect_code "usage: --test-data with --test-frac" 1 "$cli" compare "${base[@]}" --test-data "$work/demo/latest.csv" \
  --test-frac 0.3 --json "$work/x.json" --html "$work/x.html"
expect_code "missing test file" 5 "$cli" compare "${base[@]}" --ignore installment_amount --test-data "$work/nope-test.csv" \
  --json "$work/x.json" --html "$work/x.html"
has "missing test file named" "$work/err.txt" 'nope-test.csv'
expect_code "test file without the target column" 2 "$cli" compare "${base[@]}" --ignore installment_amount \
  --test-data "$work/demo/calllist.csv" --json "$work/x.json" --html "$work/x.html"
expect_code "usage: unknown flag" 1 "$cli" compare "${base[@]}" --json "$work/x.json" --html "$work/x.html" --bogus
expect_code "missing data file" 5 "$cli" compare --data "$work/nope.csv" --target accepted --json "$work/x.json" --html "$work/x.html"
has "missing file named" "$work/err.txt" 'nope.csv'
expect_code "unknown target column" 2 "$cli" compare --data "$work/demo/history.csv" --target accpted \
  --recipe "$recipe" --json "$work/x.json" --html "$work/x.html"
expect_code "one month only" 4 "$cli" compare --data "$work/demo/latest.csv" --target accepted --id customer_id \
  --time-col month --recipe "$recipe" --json "$work/x.json" --html "$work/x.html"
[ -e "$work/x.json" ] || [ -e "$work/x.html" ] && no "no output written on failure" || ok "no output written on failure"
# the two reports are written both or neither: an HTML that cannot be written leaves the JSON as it was
echo SENTINEL >"$work/keep.json"
expect_code "HTML in a missing folder" 5 "$cli" compare --data "$work/demo/latest.csv" --target accepted \
  --id customer_id --ignore installment_amount,month,connected --recipe "$recipe" --latency-runs 10 \
  --json "$work/keep.json" --html "$work/no-such-dir/r.html"
[ "$(cat "$work/keep.json")" = SENTINEL ] && ok "JSON untouched when the HTML fails" || no "the JSON was replaced"
ls "$work"/keep.json.tmp.* >/dev/null 2>&1 && no "a temporary file was left" || ok "no temporary file left"

# ---- the HTML: self-contained ------------------------------------------------------------------
grep -qi '<script' "$work/a.html" && no "HTML has no script" || ok "HTML has no script"
grep -Eqi '<link|<img|<iframe|@import|url\(' "$work/a.html" && no "HTML loads nothing" || ok "HTML loads nothing"
grep -o 'https\?://[^" ]*' "$work/a.html" | grep -qv '^http://www.w3.org/2000/svg$' \
  && no "no URL but the SVG namespace" || ok "no URL but the SVG namespace"
for c in roc gains reliability bands contributions beeswarm months; do has "chart-$c in the HTML" "$work/a.html" "id=\"chart-$c\""; done
has "the HTML opens with the recommendation" "$work/a.html" '<section class="card rec" id="recommendation"><h2>Which model to use'
has "stdout gives the recommendation" "$work/a_stdout.txt" '^recommendation: Use '
# no card stands empty: with both charts they share a row; with one, it spans the row
grep -q 'class="card wide"' "$work/a.html" && no "a.html: both last cards, none wide" || ok "a.html: importance and back-test side by side"
grep -q 'id="backtest"' "$work/b.html" && no "b.html: no back-test card" || ok "b.html: no empty back-test card"
grep -q 'class="card wide" id="contributions"' "$work/b.html" && ok "b.html: contributions span the row" ||
  no "b.html: contributions not wide"

# ---- the HTML rendered in headless Chromium ------------------------------------------------------
if [ ! -x "$chromium" ]; then
  echo "skipped: $chromium not found (Debian package chromium; scripts/deps.sh installs it), browser checks skipped"
else
  flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
         --disable-component-update --disable-sync --hide-scrollbars --window-size=1280,4000)
  timeout 180 "$chromium" "${flags[@]}" --user-data-dir="$(mktemp -d "$work/chr.XXXXXX")" --dump-dom \
    "file://$work/a.html" >"$work/dom.html" 2>"$work/chromium.err"
  [ -s "$work/dom.html" ] && ok "Chromium dumped the DOM" || no "Chromium dumped the DOM: $(tail -c 600 "$work/chromium.err")"
  cat >"$work/dom.py" <<'PY'
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read(); p = []
for c in ("roc", "gains", "reliability", "bands", "contributions", "beeswarm", "months"):
    m = re.search(r'<svg[^>]*id="chart-%s"[^>]*>(.*?)</svg>' % c, dom, re.S)
    if not m: p.append(f"chart-{c}: no <svg> in the rendered DOM"); continue
    body = m.group(1)
    paths = [d for d in re.findall(r'<path[^>]*\sd="([^"]*)"', body) if len(re.findall(r"[ML]", d)) >= 2]
    shapes = len(paths) + len(re.findall(r"<rect|<circle", body))
    if shapes < 3: p.append(f"chart-{c}: only {shapes} drawn shapes")
    if c in ("roc", "gains"):
        curves = re.findall(r'<path class="curve" data-model="([a-z_]+)"', body)
        if len(curves) != 7: p.append(f"chart-{c}: {len(curves)} model curves, wanted 7")
    if "<title" not in body: p.append(f"chart-{c}: no title")
print("\n".join(p)); sys.exit(1 if p else 0)
PY
  check "rendered DOM holds every chart with drawn paths" "$work/dom.py" "$work/dom.html"
  timeout 180 "$chromium" "${flags[@]}" --user-data-dir="$(mktemp -d "$work/chr.XXXXXX")" \
    --screenshot="$work/shot.png" "file://$work/a.html" >/dev/null 2>"$work/chromium.err"
  [ -s "$work/shot.png" ] && ok "screenshot written ($(stat -c %s "$work/shot.png") bytes)" \
    || no "screenshot written: $(tail -c 600 "$work/chromium.err")"
  cat >"$work/png.py" <<'PY'
import struct, sys, zlib
def rows(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n": raise SystemExit("not a PNG")
    pos, idat = 8, []
    while pos < len(data):
        ln, = struct.unpack(">I", data[pos:pos + 4]); typ = data[pos + 4:pos + 8]; body = data[pos + 8:pos + 8 + ln]
        pos += 12 + ln
        if typ == b"IHDR": w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT": idat.append(body)
    if depth != 8 or ctype not in (2, 6) or inter: raise SystemExit(f"unsupported PNG (depth {depth}, type {ctype})")
    bpp = 3 if ctype == 2 else 4; stride = w * bpp
    raw = zlib.decompress(b"".join(idat)); prev = bytearray(stride); out = []
    for y in range(h):
        o = y * (stride + 1); f = raw[o]; line = bytearray(raw[o + 1:o + 1 + stride])
        if f == 1:
            for x in range(bpp, stride): line[x] = (line[x] + line[x - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for x in range(stride): line[x] = (line[x] + (((line[x - bpp] if x >= bpp else 0) + prev[x]) >> 1)) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 255
        out.append(bytes(line)); prev = line
    return w, h, bpp, out
w, h, bpp, img = rows(sys.argv[1]); p = []
if (w, h) != (1280, 4000): p.append(f"size {w}x{h}, wanted 1280x4000")
colours = {}
for r in img:
    for x in range(0, len(r), bpp):
        k = r[x:x + 3]; colours[k] = colours.get(k, 0) + 1
bg = max(colours, key=colours.get)
drawn = sum(v for k, v in colours.items() if k != bg) / (w * h)
if len(colours) < 200: p.append(f"only {len(colours)} distinct colours: blank or nearly blank")
if drawn < 0.10: p.append(f"only {100 * drawn:.1f}% of the pixels differ from the background")
# the palette's line colours must appear (Okabe-Ito blue, green, orange, vermillion, purple)
for name, rgb in (("blue", (0, 114, 178)), ("green", (0, 158, 115)), ("orange", (230, 159, 0)),
                  ("vermillion", (213, 94, 0)), ("purple", (204, 121, 167))):
    n = sum(v for k, v in colours.items() if all(abs(k[i] - rgb[i]) <= 6 for i in range(3)))
    if n < 200: p.append(f"palette colour {name} drawn on only {n} pixels")
print(f"{len(colours)} colours, {100 * drawn:.1f}% drawn", file=sys.stderr)
print("\n".join(p)); sys.exit(1 if p else 0)
PY
  check "screenshot is not blank and shows the palette" "$work/png.py" "$work/shot.png"
  [ -n "${PROP_KEEP_SCREENSHOT:-}" ] && cp "$work/shot.png" "$PROP_KEEP_SCREENSHOT"
fi

finish
