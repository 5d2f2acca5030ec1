/* The benchmark part of REPORT.md from a `linbench bench --out DIR` folder: Table 3
 * cell by cell against the paper, time vs n per layer group, and the crossover n
 * beyond which Linformer beats each full-attention variant. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_report.h"
#include "lb_util.h"
#include "report_int.h"

#define MAXV 64
#define MAG_HOLDS 0.8 /* geometric mean of ours / paper */
#define MAG_WEAKER 0.5

typedef struct {
    double v[MAXV];
    int n;
} vals;

static void add_val(vals *s, double x) {
    if (isnan(x)) return;
    for (int i = 0; i < s->n; i++)
        if (s->v[i] == x) return;
    if (s->n == MAXV) return;
    int i = s->n++;
    for (; i > 0 && s->v[i - 1] > x; i--) s->v[i] = s->v[i - 1];
    s->v[i] = x;
}

static const char *const T3_COLS[] = {"n",
                                      "k",
                                      "layers",
                                      "baseline",
                                      "time_saved_x",
                                      "memory_saved_batch_x",
                                      "predicted_compute_x",
                                      "memory_saved_peak_x",
                                      "status",
                                      "batch_fit_baseline",
                                      "batch_fit_linformer",
                                      "batch_timed_baseline",
                                      "batch_timed_linformer",
                                      "note"};
enum { T_N, T_K, T_L, T_BASE, T_TIME, T_MEM, T_COMP, T_PEAK, T_STATUS, T_BFB, T_BFL, T_BTB, T_BTL,
       T_NOTE, T_NCOL };
#define PAPER_BASE "materialise" /* the baseline the paper measured against */

static double paper_cell(const lb_table *p, const int *pc, double n, double k, int which) {
    if (!p) return NAN;
    for (size_t i = 0; i < p->nrow; i++)
        if (lb_table_num(p, i, pc[0]) == n && lb_table_num(p, i, pc[1]) == k)
            return lb_table_num(p, i, pc[which]);
    return NAN;
}

static int is_base(const lb_table *t, const int *c, size_t i, const char *base) {
    return !strcmp(lb_table_str(t, i, c[T_BASE]), base);
}
static int row_ok(const lb_table *t, const int *c, size_t i) {
    return !strcmp(lb_table_str(t, i, c[T_STATUS]), "ok");
}

/* One verdict on a Table 3 column against `base`: grows with n at fixed k and > 1 at
 * the largest n. Memory (batch ratio) needs no timing: rows with both batches count. */
static int t3_trend(lb_report *r, const lb_table *t, const int *c, int col, const char *what,
                    const char *base) {
    vals ks = {0};
    for (size_t i = 0; i < t->nrow; i++)
        if (is_base(t, c, i, base) && isfinite(lb_table_num(t, i, c[col])))
            add_val(&ks, lb_table_num(t, i, c[T_K]));
    int tested = 0, grow = 0, above = 0;
    char num[1024] = "";
    size_t len = 0;
    for (int j = 0; j < ks.n; j++) {
        double lo_n = INFINITY, hi_n = -INFINITY, lo = NAN, hi = NAN;
        for (size_t i = 0; i < t->nrow; i++) {
            double x = lb_table_num(t, i, c[col]);
            if (!is_base(t, c, i, base) || !isfinite(x) || lb_table_num(t, i, c[T_K]) != ks.v[j])
                continue;
            double n = lb_table_num(t, i, c[T_N]);
            if (n < lo_n) lo_n = n, lo = x;
            if (n > hi_n) hi_n = n, hi = x;
        }
        if (hi_n <= lo_n) continue;
        tested++, grow += hi > lo, above += hi > 1;
        if (len < sizeof num)
            len += (size_t)snprintf(num + len, sizeof num - len, "%sk = %g: %.2f× at n = %g → %.2f× at n = %g",
                                    len ? "; " : "", ks.v[j], lo, lo_n, hi, hi_n);
    }
    lb_verdict_kind k = !tested                             ? LB_UNDECIDED
                        : grow == tested && above == tested ? LB_HOLDS
                        : grow && above                     ? LB_WEAKER
                                                            : LB_NOT_HOLD;
    char claim[256];
    snprintf(claim, sizeof claim,
             "Linformer's %s over %s attention grows with n at fixed k and exceeds 1 at long sequences",
             what, base);
    return lb_report_verdict(
        r, claim, k,
        "for every k measured at ≥ 2 lengths: larger at the largest n than at the smallest, "
        "and > 1 at the largest n → holds; true for some k → holds more weakly; otherwise does "
        "not hold",
        "Table 3 comparison", tested ? num : "no k measured at two or more lengths");
}

static void cell(FILE *o, double x, const char *fmt) {
    if (isfinite(x)) fprintf(o, fmt, x);
    else fputs(" – |", o);
}

/* The paper's comparison: Linformer against the materialising baseline. */
static void t3_paper_table(lb_report *r, const lb_table *t, const int *c, const lb_table *p,
                           const int *pc, double *lt, int *nt, double *lm, int *nm) {
    FILE *o = r->md;
    fprintf(o, "\n| n | k | largest batch materialise / Linformer | time saved, ours | paper | ratio | "
               "predicted compute ratio | memory saved (batch), ours | paper | ratio | memory saved "
               "(peak bytes per sequence) | status |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < t->nrow; i++) {
        if (!is_base(t, c, i, PAPER_BASE)) continue;
        double n = lb_table_num(t, i, c[T_N]), k = lb_table_num(t, i, c[T_K]);
        double ts = lb_table_num(t, i, c[T_TIME]), ms = lb_table_num(t, i, c[T_MEM]);
        double pt = paper_cell(p, pc, n, k, 2), pm = paper_cell(p, pc, n, k, 3);
        fprintf(o, "| %g | %g | %s / %s |", n, k, lb_table_str(t, i, c[T_BFB]), lb_table_str(t, i, c[T_BFL]));
        cell(o, ts, " %.2f× |"), cell(o, pt, " %.3g× |"), cell(o, ts / pt, " %.2f |");
        cell(o, lb_table_num(t, i, c[T_COMP]), " %.2f× |");
        cell(o, ms, " %.2f× |"), cell(o, pm, " %.3g× |"), cell(o, ms / pm, " %.2f |");
        cell(o, lb_table_num(t, i, c[T_PEAK]), " %.2f× |");
        fputc(' ', o);
        lb_md_cell(o, lb_table_str(t, i, c[T_STATUS]));
        if (!row_ok(t, c, i)) fputs(": ", o), lb_md_cell(o, lb_table_str(t, i, c[T_NOTE]));
        fputs(" |\n", o);
        if (ts > 0 && pt > 0) *lt += log(ts / pt), (*nt)++;
        if (ms > 0 && pm > 0) *lm += log(ms / pm), (*nm)++;
    }
}

/* Linformer against the memory-efficient kernels, and where each saving comes from. */
static void t3_modern_table(lb_report *r, const lb_table *t, const int *c) {
    FILE *o = r->md;
    fprintf(o, "\nAgainst the memory-efficient kernels of today (full: one n×n block per thread; "
               "stream: online softmax, no n×n block). *time / compute* near 1 means the measured "
               "saving is the arithmetic Linformer skips; below 1, overheads eat part of it.\n\n"
               "| n | k | baseline | largest batch baseline / Linformer | time saved | predicted compute "
               "ratio | time / compute | memory saved (batch) | memory saved (peak per sequence) | "
               "status |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < t->nrow; i++) {
        if (is_base(t, c, i, PAPER_BASE)) continue;
        double ts = lb_table_num(t, i, c[T_TIME]), cp = lb_table_num(t, i, c[T_COMP]);
        fprintf(o, "| %g | %g | ", lb_table_num(t, i, c[T_N]), lb_table_num(t, i, c[T_K]));
        lb_md_cell(o, lb_table_str(t, i, c[T_BASE]));
        fprintf(o, " | %s / %s |", lb_table_str(t, i, c[T_BFB]), lb_table_str(t, i, c[T_BFL]));
        cell(o, ts, " %.2f× |"), cell(o, cp, " %.2f× |"), cell(o, ts / cp, " %.2f |");
        cell(o, lb_table_num(t, i, c[T_MEM]), " %.2f× |"), cell(o, lb_table_num(t, i, c[T_PEAK]), " %.2f× |");
        fputc(' ', o);
        lb_md_cell(o, lb_table_str(t, i, c[T_STATUS]));
        if (!row_ok(t, c, i)) fputs(": ", o), lb_md_cell(o, lb_table_str(t, i, c[T_NOTE]));
        fputs(" |\n", o);
    }
}

static int t3_magnitudes(lb_report *r, double lt, int nt, double lm, int nm) {
    int rc = 0;
    for (int w = 0; w < 2 && !rc; w++) {
        int cnt = w ? nm : nt;
        double g = cnt ? exp((w ? lm : lt) / cnt) : NAN;
        char num[256], claim[256], rule[256];
        snprintf(num, sizeof num, "geometric mean of ours / paper over %d cells: %.3f", cnt, g);
        snprintf(rule, sizeof rule,
                 "against the materialising baseline, as the paper: geometric mean ≥ %.1f → holds; "
                 "≥ %.1f → holds more weakly; otherwise does not hold; no common cell → undecided",
                 MAG_HOLDS, MAG_WEAKER);
        snprintf(claim, sizeof claim, "the paper's Table 3 %s magnitudes carry over to this machine",
                 w ? "memory-saving" : "speed-up");
        lb_verdict_kind k = !cnt              ? LB_UNDECIDED
                            : g >= MAG_HOLDS  ? LB_HOLDS
                            : g >= MAG_WEAKER ? LB_WEAKER
                                              : LB_NOT_HOLD;
        rc = lb_report_verdict(r, claim, k, rule, "Table 3 comparison", num);
    }
    return rc;
}

#define T3_ABSENT 1 /* t3_open: the folder has no table3.csv */

/* dir/table3.csv into t (columns c) and, when paper is not NULL, the paper's table into
 * p (columns pc, *havep = 1). 0; T3_ABSENT when dir has no table3.csv (nothing kept
 * open); or a sysexits code after a message naming the file. */
static int t3_open(const char *dir, const char *paper, lb_table *t, int *c, lb_table *p, int *pc,
                   int *havep) {
    static const char *const PC[] = {"n", "k", "time_saved_x", "memory_saved_x"};
    char path[4096], msg[1024];
    *havep = 0;
    snprintf(path, sizeof path, "%s/table3.csv", dir);
    FILE *probe = fopen(path, "r");
    if (!probe) return T3_ABSENT;
    fclose(probe);
    if (lb_table_read(t, path, msg, sizeof msg)) return lb_err("%s", msg), EX_DATAERR;
    int rc = 0;
    if (lb_table_cols(t, c, T3_COLS, T_NCOL, msg, sizeof msg)) rc = EX_DATAERR;
    else if (paper && lb_table_read(p, paper, msg, sizeof msg)) rc = p->cannot_open ? EX_NOINPUT : EX_DATAERR;
    else if (paper && (*havep = 1, lb_table_cols(p, pc, PC, 4, msg, sizeof msg))) rc = EX_DATAERR;
    if (rc) {
        lb_err("%s", msg);
        lb_table_free(t);
        if (*havep) lb_table_free(p);
        *havep = 0;
    }
    return rc;
}

static void t3_close(lb_table *t, lb_table *p, int havep) {
    lb_table_free(t);
    if (havep) lb_table_free(p);
}

static int table3(lb_report *r, const char *dir, const char *paper, const char *figdir) {
    char path[4096];
    FILE *o = r->md;
    fprintf(o, "\n## Table 3 — inference speed-up and memory saving, ours vs the paper\n\n"
               "Ours: this CPU, the whole encoder, Linformer (layerwise sharing) against the "
               "materialising attention of 2020 that the paper measured (the (B, H, n, n) scores "
               "and probabilities held whole), and against today's memory-efficient kernels. "
               "Memory saved (batch) is the paper's definition: the ratio of the largest batches "
               "whose memory fits the budget (the batch is exact bookkeeping, no run needed); "
               "memory saved (peak) is measured peak bytes per sequence at the timed batch. Time "
               "saved is time per sequence, as the paper; the predicted compute ratio (flops per "
               "sequence) beside it shows how much of it is arithmetic saved. Paper: one V100 16 GB. "
               "Ratio = ours / paper.\n");
    lb_table t, p;
    int c[T_NCOL], pc[4], havep = 0;
    int rc = t3_open(dir, paper, &t, c, &p, pc, &havep);
    if (rc == T3_ABSENT) {
        lb_report_not_run(r, "Table 3", "linbench bench --protocol table3 --out DIR");
        return 0;
    }
    if (rc) return rc;
    vals layers = {0};
    for (size_t i = 0; i < t.nrow; i++) add_val(&layers, lb_table_num(&t, i, c[T_L]));
    fprintf(o, "\nEncoder layers here: %g%s.\n", layers.n ? layers.v[0] : NAN,
            layers.n && layers.v[0] == 1 ? " (one layer: every ratio is per sequence, and each "
            "layer repeats the same work on the same buffers, so one layer gives the ratios of 12 "
            "up to the embedding's share; the paper preset runs 12)" : "");
    snprintf(path, sizeof path, "%s/table3.png", figdir);
    lb_report_figure(r, "Table 3 grid, ours vs the paper", path);
    double lt = 0, lm = 0;
    int nt = 0, nm = 0;
    t3_paper_table(r, &t, c, havep ? &p : NULL, pc, &lt, &nt, &lm, &nm);
    int outside = 0, in_grid = 0;
    for (size_t j = 0; havep && j < p.nrow; j++) {
        int found = 0;
        for (size_t i = 0; i < t.nrow && !found; i++)
            found = is_base(&t, c, i, PAPER_BASE) && lb_table_num(&t, i, c[T_N]) == lb_table_num(&p, j, pc[0]) &&
                    lb_table_num(&t, i, c[T_K]) == lb_table_num(&p, j, pc[1]);
        outside += !found, in_grid += found;
    }
    fprintf(o, "\n(– : not measured or does not fit, the status says why; %d of the paper's %zu cells "
               "are in this grid, %d outside it; `make bench-table3-paper` runs them all.)\n",
            in_grid, havep ? p.nrow : 0, outside);
    t3_modern_table(r, &t, c);
    if ((rc = t3_trend(r, &t, c, T_TIME, "inference speed-up", PAPER_BASE))) goto out;
    if ((rc = t3_trend(r, &t, c, T_MEM, "memory saving (largest batch)", PAPER_BASE))) goto out;
    rc = t3_magnitudes(r, lt, nt, lm, nm);
out:
    t3_close(&t, &p, havep);
    return rc;
}

/* ---- Table 3 at the paper's scale (make bench-table3-paper) ------------------------ */

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* The parts the folder was merged from ("merged_from" in bench.json, linbench merge), one
 * row each, and whether they share one machine and one streaming kernel. A folder
 * written by one bench run has no parts: nothing to list. */
static int t3p_parts(lb_report *r, const char *dir) {
    char path[4096];
    int rc;
    snprintf(path, sizeof path, "%s/bench.json", dir);
    cJSON *parts = rb_json_key(path, "merged_from", 0, &rc);
    if (!parts) return rc;
    FILE *o = r->md;
    fprintf(o, "\nRun one n at a time (a part each), in this order:\n\n| part | n | date | wall time | "
               "streaming kernel | machine | processor, FMA peak | commit |\n"
               "|---|---|---|---|---|---|---|---|\n");
    const cJSON *e, *first = NULL;
    int mixed_machine = 0, mixed_kernel = 0;
    double total = 0;
    cJSON_ArrayForEach(e, parts) {
        const cJSON *ns = cJSON_GetObjectItemCaseSensitive(e, "table3_n"), *x;
        const cJSON *el = cJSON_GetObjectItemCaseSensitive(e, "elapsed_s");
        const char *commit = jstr(e, "git_commit"), *folder = jstr(e, "folder");
        const char *base = folder && strrchr(folder, '/') ? strrchr(folder, '/') + 1 : folder;
        fputs("| ", o), lb_md_cell(o, base ? base : "–"), fputs(" | ", o);
        int k = 0;
        cJSON_ArrayForEach(x, ns) if (cJSON_IsNumber(x)) fprintf(o, "%s%g", k++ ? ", " : "", x->valuedouble);
        if (!k) fputs("–", o);
        fputs(" | ", o), lb_md_cell(o, jstr(e, "date") ? jstr(e, "date") : "–");
        if (cJSON_IsNumber(el)) fprintf(o, " | %.0f s | ", el->valuedouble), total += el->valuedouble;
        else fputs(" | – | ", o);
        lb_md_cell(o, jstr(e, "stream_kernel") ? jstr(e, "stream_kernel") : "not recorded (sgemm path)");
        fputs(" | ", o);
        lb_md_cell(o, jstr(e, "machine") ? jstr(e, "machine") : "–");
        fputs(" | ", o), lb_md_cell(o, jstr(e, "cpu") ? jstr(e, "cpu") : "–");
        const cJSON *pk = cJSON_GetObjectItemCaseSensitive(e, "fma_peak_gflops");
        if (cJSON_IsNumber(pk)) fprintf(o, ", %.0f GFLOP/s", pk->valuedouble);
        fprintf(o, " | %.10s |\n", commit ? commit : "–");
        if (!first) first = e;
        mixed_machine |= !same_str(jstr(e, "machine"), jstr(first, "machine"));
        mixed_kernel |= !same_str(jstr(e, "stream_kernel"), jstr(first, "stream_kernel"));
    }
    fprintf(o, "\nWall time in all: %.0f s (%.1f h).", total, total / 3600);
    if (mixed_machine)
        fprintf(o, " The parts come from more than one machine (the *machine* and *processor* "
                   "columns): each row's ratios divide timings of one machine (linbench merge "
                   "refuses a row that spans two), but rows from different machines measure "
                   "different processors, so compare their ratios, not their seconds.");
    if (mixed_kernel)
        fprintf(o, " The parts used different streaming kernels: their ratios against stream "
                   "measure different kernels (the *streaming kernel* column).");
    fputc('\n', o);
    cJSON_Delete(parts);
    return 0;
}

/* The paper's lengths that have no row here. */
static void t3p_missing(lb_report *r, const lb_table *t, const int *c, const lb_table *p, const int *pc) {
    vals want = {0}, have = {0};
    for (size_t j = 0; j < p->nrow; j++) add_val(&want, lb_table_num(p, j, pc[0]));
    for (size_t i = 0; i < t->nrow; i++) add_val(&have, lb_table_num(t, i, c[T_N]));
    int miss = 0;
    for (int j = 0; j < want.n; j++) {
        int found = 0;
        for (int i = 0; i < have.n; i++) found |= have.v[i] == want.v[j];
        if (found) continue;
        fprintf(r->md, "%s%g", miss++ ? ", " : "\nNot run yet at the paper's scale: n = ", want.v[j]);
    }
    if (miss) fprintf(r->md, " (`make bench-table3-paper` runs each missing n and merges it in).\n");
}

int lb_report_table3_paper(lb_report *r, const char *dir, const char *paper, const char *figdir) {
    FILE *o = r->md;
    fprintf(o, "\n### Table 3 at the paper's scale: 12 layers, the V100's budget\n\n"
               "The paper preset (`make bench-table3-paper`): the whole encoder at the layer count "
               "below, the largest batch under the paper's 16 GB V100 less the weights, every (n, k) "
               "of the paper that this machine can hold. The verdicts above rest on the default "
               "preset; these rows carry its comparison to the paper's lengths and depth.\n");
    if (!dir) {
        lb_report_not_run(r, "the paper preset", "make bench-table3-paper, then linbench report "
                          "--table3-paper results/paper-table3");
        return 0;
    }
    lb_table t, p;
    int c[T_NCOL], pc[4], havep = 0;
    int rc = t3_open(dir, paper, &t, c, &p, pc, &havep);
    if (rc == T3_ABSENT) {
        lb_err("report: %s/table3.csv: cannot open (--table3-paper wants a Table 3 folder)", dir);
        return EX_NOINPUT;
    }
    if (rc) return rc;
    vals layers = {0};
    for (size_t i = 0; i < t.nrow; i++) add_val(&layers, lb_table_num(&t, i, c[T_L]));
    fprintf(o, "\nEncoder layers: %g.\n", layers.n ? layers.v[0] : NAN);
    if (!(rc = t3p_parts(r, dir))) {
        char path[4096];
        snprintf(path, sizeof path, "%s/table3.png", figdir);
        lb_report_figure(r, "Table 3 at the paper's scale, ours vs the paper", path);
        double lt = 0, lm = 0;
        int nt = 0, nm = 0;
        t3_paper_table(r, &t, c, havep ? &p : NULL, pc, &lt, &nt, &lm, &nm);
        fprintf(o, "\nGeometric mean of ours / paper against materialisation: time saved %.3f over "
                   "%d cells, memory saved (batch) %.3f over %d cells.\n",
                nt ? exp(lt / nt) : NAN, nt, nm ? exp(lm / nm) : NAN, nm);
        t3_modern_table(r, &t, c);
        if (havep) t3p_missing(r, &t, c, &p, pc);
    }
    t3_close(&t, &p, havep);
    return rc;
}

static const char *const S_COLS[] = {"protocol", "method", "n",       "k",      "d",
                                     "heads",    "batch",  "threads", "status", "median_s"};
enum { S_PROTO, S_METHOD, S_N, S_K, S_D, S_H, S_B, S_T, S_STATUS, S_MED, S_NCOL };

typedef struct {
    const lb_table *t;
    const int *c;
    double d, h, b, th;
} group;

/* Median seconds of (method, n, k) in the group, NaN if absent or not ok. */
static double med(const group *g, const char *method, double n, double k) {
    for (size_t i = 0; i < g->t->nrow; i++) {
        const lb_table *t = g->t;
        const int *c = g->c;
        if (strcmp(lb_table_str(t, i, c[S_PROTO]), "layer") ||
            strcmp(lb_table_str(t, i, c[S_METHOD]), method) || strcmp(lb_table_str(t, i, c[S_STATUS]), "ok"))
            continue;
        if (lb_table_num(t, i, c[S_N]) == n && lb_table_num(t, i, c[S_K]) == k &&
            lb_table_num(t, i, c[S_D]) == g->d && lb_table_num(t, i, c[S_H]) == g->h &&
            lb_table_num(t, i, c[S_B]) == g->b && lb_table_num(t, i, c[S_T]) == g->th)
            return lb_table_num(t, i, c[S_MED]);
    }
    return NAN;
}

/* Smallest n from which Linformer k is faster than `full` at every measured larger n;
 * -1 none measured in common, 0 never faster at the largest n. */
static double crossover(const group *g, const vals *ns, const char *full, double k) {
    double x = 0;
    int any = 0;
    for (int i = ns->n - 1; i >= 0; i--) {
        double a = med(g, "linformer", ns->v[i], k), f = med(g, full, ns->v[i], 0);
        if (isnan(a) || isnan(f)) continue;
        any = 1;
        if (a < f)
            x = ns->v[i];
        else
            break;
    }
    return any ? x : -1;
}

/* Milliseconds: 4 significant digits, never an exponent. */
static void ms(FILE *o, double s) {
    double x = 1e3 * s;
    if (isnan(x))
        fputs(" – |", o);
    else
        fprintf(o, x >= 1000 ? " %.0f |" : " %.4g |", x);
}

static int layer_group(lb_report *r, group *g, const char *figdir, int *tested, int *found, int *monotone) {
    FILE *o = r->md;
    const lb_table *t = g->t;
    const int *c = g->c;
    vals ns = {0}, ks = {0};
    for (size_t i = 0; i < t->nrow; i++) {
        if (strcmp(lb_table_str(t, i, c[S_PROTO]), "layer") || lb_table_num(t, i, c[S_D]) != g->d ||
            lb_table_num(t, i, c[S_H]) != g->h || lb_table_num(t, i, c[S_B]) != g->b ||
            lb_table_num(t, i, c[S_T]) != g->th)
            continue;
        add_val(&ns, lb_table_num(t, i, c[S_N]));
        if (!strcmp(lb_table_str(t, i, c[S_METHOD]), "linformer")) add_val(&ks, lb_table_num(t, i, c[S_K]));
    }
    char path[4096];
    fprintf(o, "\n### Time vs n — one attention layer, d = %g, heads = %g, batch = %g, threads = %g\n", g->d,
            g->h, g->b, g->th);
    snprintf(path, sizeof path, "%s/time_vs_n_%g_%g_%g_%g.png", figdir, g->d, g->h, g->b, g->th);
    lb_report_figure(r, "time vs n", path);
    snprintf(path, sizeof path, "%s/layer_grid_%g_%g_%g_%g.png", figdir, g->d, g->h, g->b, g->th);
    lb_report_figure(r, "speed-up and memory saved vs full, layer grid", path);
    fprintf(o, "\nMedian milliseconds per call.\n\n| n | full | stream |");
    for (int j = 0; j < ks.n; j++) fprintf(o, " Linformer k = %g |", ks.v[j]);
    fprintf(o, "\n|---|---|---|");
    for (int j = 0; j < ks.n; j++) fputs("---|", o);
    for (int i = 0; i < ns.n; i++) {
        fprintf(o, "\n| %g |", ns.v[i]);
        ms(o, med(g, "full", ns.v[i], 0)), ms(o, med(g, "stream", ns.v[i], 0));
        for (int j = 0; j < ks.n; j++) ms(o, med(g, "linformer", ns.v[i], ks.v[j]));
    }
    fprintf(o, "\n\nCrossover: the smallest n from which Linformer is faster at every longer n measured.\n\n"
               "| k | vs full (materialised) | vs stream (online softmax) |\n|---|---|---|\n");
    static const char *const FULL[] = {"full", "stream"};
    double prev[2] = {0, 0};
    for (int j = 0; j < ks.n; j++) {
        fprintf(o, "| %g |", ks.v[j]);
        for (int v = 0; v < 2; v++) {
            double x = crossover(g, &ns, FULL[v], ks.v[j]);
            if (x < 0) {
                fputs(" not measured |", o);
                continue;
            }
            (*tested)++;
            if (x == 0) {
                fprintf(o, " none up to n = %g |", ns.v[ns.n - 1]);
                continue;
            }
            (*found)++;
            if (x == ns.v[0])
                fprintf(o, " ≤ %g |", x);
            else
                fprintf(o, " %g |", x);
            if (x < prev[v]) *monotone = 0;
            prev[v] = x;
        }
        fputc('\n', o);
    }
    return 0;
}

int lb_report_bench(lb_report *r, const char *dir, const char *paper, const char *figdir,
                    const char *t3paper, const char *t3figdir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    lb_table t;
    int c[S_NCOL], rc;
    char msg[1024];
    if (lb_table_read(&t, path, msg, sizeof msg)) return lb_err("%s", msg), t.cannot_open ? EX_NOINPUT : EX_DATAERR;
    if (lb_table_cols(&t, c, S_COLS, S_NCOL, msg, sizeof msg)) {
        lb_table_free(&t);
        return lb_err("%s", msg), EX_DATAERR;
    }
    if ((rc = table3(r, dir, paper, figdir)) || (rc = lb_report_table3_paper(r, t3paper, paper, t3figdir))) {
        lb_table_free(&t);
        return rc;
    }
    fprintf(r->md, "\n## Speed of one attention layer: time vs n and crossover\n");
    int tested = 0, found = 0, monotone = 1, groups = 0;
    double seen[MAXV][4];
    for (size_t i = 0; i < t.nrow && !rc; i++) {
        if (strcmp(lb_table_str(&t, i, c[S_PROTO]), "layer")) continue;
        group g = {&t,
                   c,
                   lb_table_num(&t, i, c[S_D]),
                   lb_table_num(&t, i, c[S_H]),
                   lb_table_num(&t, i, c[S_B]),
                   lb_table_num(&t, i, c[S_T])};
        int dup = 0;
        for (int j = 0; j < groups; j++)
            dup |= seen[j][0] == g.d && seen[j][1] == g.h && seen[j][2] == g.b && seen[j][3] == g.th;
        if (dup || groups == MAXV) continue;
        seen[groups][0] = g.d, seen[groups][1] = g.h, seen[groups][2] = g.b, seen[groups][3] = g.th, groups++;
        rc = layer_group(r, &g, figdir, &tested, &found, &monotone);
    }
    if (!groups) lb_report_not_run(r, "layer protocol", "linbench bench --protocol layer --out DIR");
    if (!rc && groups) {
        char num[256];
        snprintf(num, sizeof num,
                 "%d of %d (k, variant) pairs have a crossover within the measured n; "
                 "non-decreasing in k: %s",
                 found, tested, monotone ? "yes" : "no");
        lb_verdict_kind k = !tested                       ? LB_UNDECIDED
                            : found == tested && monotone ? LB_HOLDS
                            : found                       ? LB_WEAKER
                                                          : LB_NOT_HOLD;
        rc = lb_report_verdict(
            r, "Linformer is faster than full attention beyond a crossover length that grows with k", k,
            "a crossover for every k and variant, non-decreasing in k → holds; for some → holds "
            "more weakly; none → does not hold",
            "crossover tables", num);
    }
    lb_table_free(&t);
    return rc;
}
