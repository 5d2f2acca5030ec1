#!/usr/bin/env bash
# Command-line tests of `linbench report`: real (tiny) spectrum and bench results made
# here, synthetic result files whose verdicts are known, "not run yet" sections for
# left-out inputs, bad inputs (non-zero exit, a message, the old REPORT.md untouched,
# no temp file left), and a dry run of `make reproduce`. Never asserts on timing values.
source "$(dirname "$0")/../../lib/lib.sh"
has() { # file, name, fixed string
    if grep -qsF -- "$3" "$1"; then ok; else bad "$2: '$3' not in $(basename "$1")"; fi
}
lacks() {
    if grep -qsF -- "$3" "$1"; then bad "$2: '$3' should not be in $(basename "$1")"; else ok; fi
}

# --- real inputs: a tiny checkpoint's spectrum and the quick bench -----------------
"$PY" -c "import sys; sys.path.insert(0, 'tests/lib'); import hf_tiny
hf_tiny.write_checkpoint('$T/model', kind='roberta', seed=3, vocab=300, max_pos=40, layers=3)" || bad "hf_tiny"
for i in $(seq 1 30); do
    for j in $(seq 1 $((10 + i))); do printf 'w%d ' $(((i * 7 + j * 3) % 50)); done
    printf '.\n\n'
done >"$T/docs.txt"
mkdir -p "$T/spec"
expect_rc 0 "spectrum on the tiny model" "$LB" spectrum --model "$T/model" --text "$T/docs.txt" --byte-tokenizer 4 \
    --n 16,32 --sequences 4 --proj-k 4,8 --out "$T/spec/tiny" --quiet
expect_rc 0 "quick bench" "$LB" bench --preset quick --out "$T/bench" -q
# training logs (Figure 3): arms of 3 seeds each, labelled ARM-sSEED; final perplexity
# (step 40) as given, earlier evaluations above it
mklog() { # file, final perplexity, final n
    { echo "step,tokens,n,lr,train_loss,grad_norm,val_loss,val_ppl,val_masked_acc,tokens_per_s,elapsed_s"
      for st in 10 20 30 40; do echo "$st,0,$3,0.001,5,1,,,,100,1"
          echo "$st,0,$3,0.001,5,1,4.0,$(awk -v p="$2" -v s=$st 'BEGIN { print p + 2 * (40 - s) }'),0.1,100,1"; done
    } >"$1"
}
L=""
arm() { # name, n, final perplexities of the seeds...
    local name=$1 n=$2 i=0; shift 2
    mkdir -p "$T/logs/$SET"
    for p in "$@"; do i=$((i + 1)); mklog "$T/logs/$SET/$name-s$i.csv" "$p" "$n"
        L="$L${L:+,}$name-s$i=$T/logs/$SET/$name-s$i.csv"; done
}
SET=sep
arm standard 128 100 101 99
arm near 128 101 100.5 101.5
arm far 128 130 131 129
arm k32-n64 64 140 141 139
arm control-k1 128 150 152 148
LSEP=$L
L="" SET=over
arm standard 128 100 101 99
arm near 128 101 100.5 101.5
arm control-k1 128 100 130 80
LOVER=$L
L="" SET=one  # one seed a side: no interval, so nothing is decided, and the report says why
arm standard 128 100
arm near 128 101
arm control-k1 128 150
LONE=$L
R=$T/res/REPORT.md
expect_rc 0 "full report" "$LB" report --bench "$T/bench" --spectrum "$T/spec/tiny" --corpus-names tinycorpus \
    --train-log "$LSEP" --figures "$T/fig" --table3-paper "$T/bench" --table3-paper-figures "$T/fig" --out "$R"
for s in "# linbench report" "## Verdicts" "## Machine and build" "## Figure 1 — tinycorpus" \
    "### Projection error vs the optimal rank-k — tinycorpus (n = 32)" "### Spectrum vs n — tinycorpus" \
    "## Table 3 — inference speed-up" "## Speed of one attention layer" "### Time vs n" "Crossover:" \
    "## Figure 3 — validation perplexity" "| git_commit |" "| cpu_model |" "### Table 3 at the paper's scale"; do
    has "$R" "full report" "$s"
done
nv=$(grep -c '^\*\*Verdict: ' "$R")
nr=$(grep -c '^\*\*Verdict: .*Rule: ' "$R")
[ "$nv" -ge 10 ] && ok || bad "full report: $nv verdict lines, want >= 10"
[ "$nv" -eq "$nr" ] && ok || bad "every verdict prints its rule ($nr of $nv)"
# separated control: near is on par, far is not (undecided, wholly worse), the n = 64 arm
# is shown but not compared
has "$R" "Figure 3" "| near trains on par with standard (Figure 3) | holds |"
has "$R" "Figure 3" "| far trains on par with standard (Figure 3) | undecided"
has "$R" "Figure 3" "wholly worse than standard"
has "$R" "Figure 3" "| the negative control control-k1 trains clearly worse than standard | holds |"
has "$R" "Figure 3" "| k32-n64 | 3 | 64 | 140.00 |"
has "$R" "Figure 3" "not compared (another n)"
lacks "$R" "Figure 3" "k32-n64 trains on par"
has "$R" "Figure 3" "| near | 3 | 128 | 101.00 |"
# an overlapping control: nothing can be called on par
expect_rc 0 "report, overlapping control" "$LB" report --train-log "$LOVER" --out "$T/over/R.md"
has "$T/over/R.md" "overlap" "| near trains on par with standard (Figure 3) | undecided"
has "$T/over/R.md" "overlap" "the control is not separated from standard"
lacks "$T/over/R.md" "overlap" "| holds |"
expect_rc 0 "report, one seed a side" "$LB" report --train-log "$LONE" --out "$T/one/R.md"
has "$T/one/R.md" "one seed" "| near trains on par with standard (Figure 3) | undecided"
has "$T/one/R.md" "one seed" "| the negative control control-k1 trains clearly worse than standard | undecided"
has "$T/one/R.md" "one seed" "ratio 1.500, no interval (fewer than 2 seeds a side), 1 and 1 seeds"
has "$T/one/R.md" "one seed" "the control's separation from standard is unknown"
lacks "$T/one/R.md" "one seed" "nan"
has "$R" "figures absent" "not drawn yet, expected"
# Table 3: the paper's baseline (materialise) in its own table, the modern ones beside
has "$R" "Table 3" "largest batch materialise / Linformer"
has "$R" "Table 3" "| 64 | 16 | full |"
has "$R" "Table 3" "| 64 | 16 | stream |"
has "$R" "Table 3" "predicted compute ratio"
has "$R" "Table 3" "Encoder layers here: 1 (one layer"
has "$R" "Table 3" "over materialise attention grows with n"
lacks "$R" "full report" "not run yet"
ls "$T/res" | grep -q tmp && bad "temp file left next to REPORT.md" || ok
# a figure that exists is linked relative to the report, and the link resolves
mkdir -p "$T/fig" && cp "$T/docs.txt" "$T/fig/table3.png"
expect_rc 0 "report with a figure" "$LB" report --bench "$T/bench" --figures "$T/fig" --out "$R"
link=$(sed -n 's/^!\[Table 3[^]]*\](\(.*\))$/\1/p' "$R")
[ -n "$link" ] && [ -f "$T/res/$link" ] && ok || bad "Table 3 figure link '$link' does not resolve from the report"

# --- synthetic spectrum results with known verdicts (synth_spectrum.py) -------------
for c in up down wide short; do
    mkdir -p "$T/syn" && "$PY" tests/experiments/report/synth_spectrum.py "$T/syn/$c" "$c" || bad "synth $c"
done
S=$T/syn/REPORT.md
expect_rc 0 "synthetic report" "$LB" report --spectrum "$T/syn/up,$T/syn/down,$T/syn/wide,$T/syn/short" \
    --bootstrap 400 --out "$S"
for n in 128 512; do
    has "$S" "skew holds" "| higher layers are more skewed (lower rank) — up, n = $n | holds |"
    has "$S" "skew fails" "| higher layers are more skewed (lower rank) — down, n = $n | does not hold here |"
    has "$S" "low rank fails" "first n/4 singular values — down, n = $n | does not hold here |"
done
has "$S" "low rank holds" "first n/4 singular values — up, n = 512 | holds |"
has "$S" "projection holds" "k-dimensional projection (Theorem 1) — up | holds |"
has "$S" "projection fails" "k-dimensional projection (Theorem 1) — down | does not hold here |"
has "$S" "growth holds" "grows much slower than n — up | holds |"
has "$S" "growth fails" "grows much slower than n — down | does not hold here |"
has "$S" "Spearman" "cumulative σ at n/4 rises with the layer | 1.000 [1.000, 1.000] | holds |"
has "$S" "Spearman" "cumulative σ at n/4 rises with the layer | -1.000 [-1.000, -1.000] | does not hold here |"
# an interval straddling 0.90 gives "undecided", whatever the point estimate says
has "$S" "straddles" "first n/4 singular values — wide, n = 512 | undecided |"
grep -A3 'singular values — wide, n = 512  $' "$S" | grep -q 'Numbers: .*0\.8[0-9]*, 0\.9' && ok ||
    bad "wide: the printed interval should straddle 0.90"
# the guard: trained at n <= 128, analysed at 512
has "$S" "outside" "first n/4 singular values — short, n = 512 | outside the model's trained length |"
has "$S" "outside" "higher layers are more skewed (lower rank) — short, n = 512 | outside the model's trained length |"
has "$S" "outside" "k-dimensional projection (Theorem 1) — short | outside the model's trained length |"
has "$S" "outside" "grows much slower than n — short | outside the model's trained length |"
has "$S" "inside" "first n/4 singular values — short, n = 128 | holds |"
has "$S" "outside" "### Figure 1 — short, n = 512 — outside the model's trained length"
lacks "$S" "inside" "### Figure 1 — up, n = 512 — outside"
has "$S" "eval and training loss" "| 512 | 40 | 3.7500 [3.6500, 3.8500] | 4.1250 | yes |"
has "$S" "no eval: training loss" "| 512 | 40 | — (not measured) | 4.1250 | yes |"
has "$S" "no eval, not a training length" "| 512 | 40 | — (not measured) | — (not a training length) | **no** |"
has "$S" "eval beside Figure 1" "Masked-token loss at n = 128 on this text: 4.0000 [3.9000, 4.1000] (\`linbench eval\`); in training: 4.2500"
has "$S" "controls" "| control: uniform rows (rank 1) | 1.0000 |"
has "$S" "controls" "| control: sharp local band (full rank) | 0.4500 |"
has "$S" "no random init given" "| control: random init | not run at this n |"
[ "$(grep -c 'near-uniform P is trivially low rank' "$S")" -eq 6 ] && ok ||
    bad "entropy warning: want it for up, wide and short at both n"
has "$S" "default names" "## Figure 1 — down"
has "$S" "meta column" "| cpu_model | test cpu | test cpu |"
# the random-init control beside Figure 1, and the intervals are seeded
expect_rc 0 "report with a random-init control" "$LB" report --spectrum "$T/syn/up" --random-init "$T/syn/down" \
    --bootstrap 400 --out "$T/syn/R2.md"
has "$T/syn/R2.md" "random init row" "| control: random init, all layers | 0.60"
expect_rc 0 "same report again" "$LB" report --spectrum "$T/syn/up" --random-init "$T/syn/down" \
    --bootstrap 400 --out "$T/syn/R3.md"
diff <(grep -v '^| date\|^`linbench' "$T/syn/R2.md") <(grep -v '^| date\|^`linbench' "$T/syn/R3.md") >/dev/null && ok ||
    bad "two reports from the same files differ (the bootstrap is seeded)"
expect_rc 64 "random-init count" "$LB" report --spectrum "$T/syn/up,$T/syn/down" --random-init "$T/syn/up" --out "$T/syn/R4.md"
expect_msg "random-init count" "random-init"

# --- left-out inputs: "not run yet" sections, still exit 0 ------------------------
E=$T/empty/REPORT.md
expect_rc 0 "report with no inputs" "$LB" report --out "$E"
[ "$(grep -c 'not run yet' "$E")" -ge 4 ] && ok || bad "want >= 4 'not run yet' lines with no inputs"
has "$E" "no inputs" "spectrum analysis: not run yet"
has "$E" "no inputs" "benchmark: not run yet"
has "$E" "no inputs" "training runs: not run yet"
has "$E" "no inputs" "## Figure 3"

# --- bad inputs: non-zero exit, a message, the old report untouched ----------------
O=$T/old/REPORT.md
mkdir -p "$T/old" && echo "old report" >"$O"
same_old() { if [ "$(cat "$O")" = "old report" ] && [ "$(ls -A "$T/old")" = "REPORT.md" ]; then ok; else bad "$1: old REPORT.md changed or temp file left"; fi; }
expect_rc 66 "missing spectrum prefix" "$LB" report --spectrum "$T/nope" --out "$O"
expect_msg "missing spectrum prefix" "nope.json"; same_old "missing spectrum prefix"
expect_rc 66 "missing bench folder" "$LB" report --bench "$T/nobench" --out "$O"
expect_msg "missing bench folder" "nobench"; same_old "missing bench folder"
expect_rc 66 "missing training log" "$LB" report --train-log "x=$T/nolog.csv" --out "$O"
expect_msg "missing training log" "nolog.csv"; same_old "missing training log"
cp -r "$T/syn" "$T/bad"
head -c 150 "$T/syn/up_windows.csv" >"$T/bad/up_windows.csv"   # cut inside a data row
expect_rc 65 "truncated CSV" "$LB" report --spectrum "$T/bad/up" --out "$O"
expect_msg "truncated CSV" "up_windows.csv: line .* fields"; same_old "truncated CSV"
cp "$T/syn/up_windows.csv" "$T/bad/up_windows.csv"
sed -i 's/idx90_sigma,/idx90_x,/' "$T/bad/up_windows.csv"
expect_rc 65 "missing column" "$LB" report --spectrum "$T/bad/up" --out "$O"
expect_msg "missing column" "no column 'idx90_sigma'"; same_old "missing column"
cp "$T/syn/up_windows.csv" "$T/bad/up_windows.csv"
sed -i '/^512,3,1,7,/d' "$T/bad/up_windows.csv"   # one head missing in one window
expect_rc 65 "missing head" "$LB" report --spectrum "$T/bad/up" --out "$O"
expect_msg "missing head" "up_windows.csv: n = 512, window 7, layer 3: 1 heads, expected 2"; same_old "missing head"
rm "$T/bad/up_windows.csv"
expect_rc 66 "older result without windows" "$LB" report --spectrum "$T/bad/up" --out "$O"
expect_msg "older result without windows" "up_windows.csv"; same_old "older result without windows"
cp "$T/syn/up_windows.csv" "$T/bad/up_windows.csv"
echo '{"meta": ' >"$T/bad/up.json"
expect_rc 65 "broken JSON" "$LB" report --spectrum "$T/bad/up" --out "$O"
expect_msg "broken JSON" "up.json"; same_old "broken JSON"
: >"$T/bad/down_controls.csv"
expect_rc 65 "empty CSV" "$LB" report --spectrum "$T/bad/down" --out "$O"
expect_msg "empty CSV" "down_controls.csv"; same_old "empty CSV"
cp "$T/syn/up.json" "$T/bad/up.json"
sed -i 's/"text": "i"/"text": "other.txt"/' "$T/bad/up_eval.json"   # an eval of another text
expect_rc 65 "eval of another text" "$LB" report --spectrum "$T/bad/up" --out "$O"
expect_msg "eval of another text" "up_eval.json: field \"text\" is 'other.txt'"; same_old "eval of another text"
echo '{"model": "m", "text": "i", "lengths": [{"n": 128}]}' >"$T/bad/up_eval.json"
expect_rc 65 "eval without loss" "$LB" report --spectrum "$T/bad/up" --out "$O"
expect_msg "eval without loss" "up_eval.json: field \"lengths\""; same_old "eval without loss"
printf 'step,val_ppl\nten,5\n' >"$T/badlog.csv"
expect_rc 65 "non-numeric step" "$LB" report --train-log "$T/badlog.csv" --out "$O"
expect_msg "non-numeric step" "badlog.csv"; same_old "non-numeric step"
expect_rc 64 "names count" "$LB" report --spectrum "$T/syn/up,$T/syn/down" --corpus-names a --out "$O"
expect_msg "names count" "corpus-names"; same_old "names count"
expect_rc 64 "unknown option" "$LB" report --bogus --out "$O"
expect_rc 64 "stray argument" "$LB" report stray --out "$O"
expect_rc 0 "help" "$LB" report --help
grep -q "usage: linbench report" "$T/out" && ok || bad "help text"

# --- make reproduce, dry run: every step listed, nothing run ------------------------
B=${BUILD:-build}
make -n --no-print-directory BUILD="$B" reproduce REPRO_MODEL="$T/model" REPRO_SPEC="$T/dry/spec" \
    REPRO_BENCH="$T/dry/bench" REPRO_FIG="$T/dry/fig" REPRO_REPORT="$T/dry/REPORT.md" \
    REPRO_TRAIN_LOGS="standard-s1=$T/logs/sep/standard-s1.csv" >"$T/dry.out" 2>&1
has "$T/dry.out" "make -n reproduce" "bash experiments/deps.sh"
for s in "== reproduce [1/" "spectrum of encyclopedic" "spectrum of informal" "bench default" "bench figures" \
    "Figure 3" "report: about" "linbench spectrum --model $T/model" "linbench bench --preset default" \
    "plots/spectrum.sh" "plots/bench_plots.sh" "linbench report --bench $T/dry/bench" \
    "random-init control of narrative" "--random-init 1" "--random-init $T/dry/spec/init/encyclopedic," "--bootstrap 1000"; do
    has "$T/dry.out" "make -n reproduce" "$s"
done
[ ! -e "$T/dry" ] && ok || bad "make -n reproduce wrote files"

finish
