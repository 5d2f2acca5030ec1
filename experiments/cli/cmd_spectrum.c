/* `linbench spectrum`: singular-value spectra of the attention matrices P of a
 * checkpoint over many sequences (Linformer Figure 1), per layer and head, at one
 * or more lengths n, plus the projection error of low-rank stand-ins for P.
 *
 * One sequence at a time: the encoder hands over each layer's probabilities and
 * q, k, v; the selected heads are analysed in parallel (OpenMP over heads, BLAS
 * and LAPACK single-threaded inside, one workspace per thread made up front) and
 * folded into streaming accumulators, so memory does not grow with the count.
 *
 * parse (options) -> validate (model, input, lengths, subsets, output names)
 * -> run (one pass per n) -> write (every file as one output set: all or none). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lb_cmd.h"
#include "lb_outset.h"
#include "lb_mpi.h"
#include "lb_progress.h"
#include "lb_spectrum.h"
#include "lb_util.h"

#define MAX_N_LIST 16
#define MAX_K_LIST 32

typedef struct {
    lb_svd_ws *svd;
    lb_pe_ws *pe;
    float *sigma, *pg, *qg, *kg, *vg; /* gathered real rows when padding is present */
    double *scratch, *err;
} thread_ws;

typedef struct {
    lb_spec_run *run;
    const int *layer_pos; /* (L): index among selected layers or -1 */
    thread_ws *tw;
    int threads, do_proj, *real, m;
    const uint64_t *seeds; /* (nl, nh, nks) */
    lb_approx *ax;         /* approximations of PV (approx.c); recomputes a Linformer P */
    int failed;
    char msg[640];
} spec_ctx;

static void gather(float *dst, const float *src, int ld, const int *rows, int nr,
                   const int *cols, int nc) {
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++)
            dst[(size_t)i * nc + j] = src[(size_t)rows[i] * ld + (cols ? cols[j] : j)];
}

static void spec_cb(void *user, int layer, const float *probs, const float *q, const float *k,
                    const float *v, int B, int H, int n, int cols, int d) {
    spec_ctx *c = user;
    int li = c->layer_pos[layer];
    if (c->failed || li < 0) return;
    lb_spec_run *r = c->run;
    double t0 = lb_now();
    int m = c->m, padded = m < n;
    /* threads == 1 runs a team of one: then BLAS must be serial too, which
     * lb_spec_input_load arranged (a team of one with threaded OpenBLAS inside was
     * measured 500 times slower on a busy machine). */
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
    for (int hi = 0; hi < r->nh; hi++) {
        thread_ws *w = &c->tw[omp_get_thread_num()];
        int h = r->heads[hi];
        size_t off = (size_t)h * n;
        const float *P = probs + off * cols, *qh = q + off * d, *kh = k + off * d,
                    *vh = v + off * d;
        int ld = cols, bad = 0;
        char msg[512];
        if (c->ax)
            bad = lb_approx_head(c->ax, omp_get_thread_num(), li, hi, &P, &ld, P, cols, qh, kh, vh,
                                 msg, sizeof msg);
        if (padded) { /* real queries × real keys only (lb_spectrum.h, padding) */
            gather(w->pg, P, ld, c->real, m, c->real, m);
            P = w->pg;
            ld = m;
        }
        if (!bad) bad = lb_svd_values(w->svd, w->sigma, P, m, m, ld, msg, sizeof msg);
        if (!bad) {
            double re = lb_spec_row_entropy(P, m, m, ld);
            lb_spec_acc_add(&r->acc[li * r->nh + hi], w->scratch, w->sigma, m, re);
        }
        if (!bad && c->do_proj) {
            if (padded) {
                gather(w->qg, qh, d, c->real, m, NULL, d);
                gather(w->kg, kh, d, c->real, m, NULL, d);
                gather(w->vg, vh, d, c->real, m, NULL, d);
                qh = w->qg, kh = w->kg, vh = w->vg;
            }
            size_t base = ((size_t)li * r->nh + hi) * r->nks;
            bad = lb_projerr_head(w->pe, w->err, P, ld, qh, kh, vh, m, d, r->ks, r->nks,
                                  c->seeds + base, padded ? c->real : NULL, padded ? n : m, 1,
                                  msg, sizeof msg);
            for (int j = 0; !bad && j < r->nks * LB_PE_COUNT; j++)
                if (isfinite(w->err[j])) lb_welford_add(&r->pe[base * LB_PE_COUNT + j], w->err[j]);
        }
        if (bad) {
#pragma omp critical(spec_fail)
            if (!c->failed) {
                c->failed = 1;
                snprintf(c->msg, sizeof c->msg, "layer %d head %d: %s", layer, h, msg);
            }
        }
    }
    r->analysis_s += lb_now() - t0;
}

static void free_ws(thread_ws *tw, int threads) {
    for (int t = 0; tw && t < threads; t++) {
        lb_svd_ws_free(tw[t].svd);
        lb_pe_ws_free(tw[t].pe);
        lb_free(tw[t].sigma), lb_free(tw[t].pg), lb_free(tw[t].qg), lb_free(tw[t].kg);
        lb_free(tw[t].vg), free(tw[t].scratch), free(tw[t].err);
    }
    free(tw);
}

static thread_ws *make_ws(int threads, int n, int d, int kmax, int nks, int proj) {
    thread_ws *tw = calloc((size_t)threads, sizeof *tw);
    char msg[512];
    for (int t = 0; tw && t < threads; t++) {
        thread_ws *w = &tw[t];
        size_t nn = (size_t)n * n, nd = (size_t)n * d;
        w->sigma = lb_alloc((size_t)n * sizeof(float));
        w->pg = lb_alloc(nn * sizeof(float));
        w->qg = lb_alloc(nd * sizeof(float));
        w->kg = lb_alloc(nd * sizeof(float));
        w->vg = lb_alloc(nd * sizeof(float));
        w->scratch = malloc(2 * (size_t)n * sizeof(double));
        w->err = malloc((size_t)(nks > 0 ? nks : 1) * LB_PE_COUNT * sizeof(double));
        if (!w->sigma || !w->pg || !w->qg || !w->kg || !w->vg || !w->scratch || !w->err ||
            lb_svd_ws_init(&w->svd, n, n, 0, msg, sizeof msg) ||
            (proj && lb_pe_ws_init(&w->pe, n, d, kmax, 1, msg, sizeof msg))) {
            free_ws(tw, threads);
            return NULL;
        }
    }
    return tw;
}

static void usage(FILE *f) {
    fputs("usage: linbench spectrum --model DIR (--text FILE | --ids FILE) --out PREFIX|DIR [options]\n"
          "Singular-value spectra of P = softmax(QK^T/sqrt(d)) per layer and head (Figure 1),\n"
          "and the error of low-rank stand-ins for P. Files: see PREFIX.json \"files\"; they\n"
          "appear together or not at all, and SIGINT/SIGTERM leave earlier results as they\n"
          "were (exit 130/143).\n"
          "  --n LIST             lengths, e.g. 128,256,512 (default: the length of ready\n"
          "                       sequences in --ids, else min(512, position table))\n"
          "  --sequences N        windows per n (default 100)\n"
          "  --index I            1-based index for the 'at index' statistics (default n/4:\n"
          "                       128 at n = 512, as the paper's heatmap)\n"
          "  --layers LIST|all    0-based layer subset; --heads LIST|all likewise\n"
          "  --proj-k LIST        projection sizes (default 16,32,64,128,256 capped at n)\n"
          "  --proj-sequences N   sequences for the projection error (default 4; 0 = off)\n"
          "  --out PREFIX         result prefix (PREFIX.csv, PREFIX_summary.csv, ...); a folder\n"
          "                       DIR (existing, or written DIR/) gives DIR/spectrum.csv ...\n",
          f);
    lb_spec_input_usage(f);
    lb_ax_usage(f);
}

typedef struct {
    lb_spec_input_opts io;
    const char *out, *ns, *layers_s, *heads_s, *pks;
    long S, PS, index, kl[MAX_K_LIST];
    int nk;
    lb_ax_opts ao; /* the approximations of PV (analysis/spectrum/approx.c) */
    int ao_given;  /* --approx-draws was on the command line */
} spec_opts;

typedef struct {
    lb_spec_input in;
    int L, H, d, threads;
    int *layers, *heads, *layer_pos, nl, nh;
    long nlist[MAX_N_LIST];
    int nn;
    lb_spec_run runs[MAX_N_LIST]; /* zeroed: safe to free past nruns */
    int nruns;
    char *prefix;
    lb_spec_out *fo;
    lb_progress pg;
    lb_approx *ax[MAX_N_LIST]; /* per n; NULL when not run */
} spec_state;

/* 0 to go on, -1 after --help, else a sysexits code (error printed). */
static int spec_parse(spec_opts *o, int argc, char **argv) {
    static const char *const flags[] = {"help", "per-line", "quiet", NULL};
    char name[64];
    const char *val;
    int rc;
    *o = (spec_opts){.S = 100, .PS = 4};
    lb_spec_input_defaults(&o->io);
    lb_ax_defaults(&o->ao);
    /* The forward runs on all threads by default (quiet machine, 4 layers, hidden 256,
     * n 512: 12700 tokens/s on 2 threads vs 8100 on 1). On a busy machine spinning
     * OpenMP threads can make it 50 times slower: --forward-threads 1 or
     * OMP_WAIT_POLICY=passive there. */
    o->io.forward_threads = 0;
    for (int i = 1; i < argc;) {
        if ((rc = lb_spec_next_opt(argc, argv, &i, flags, name, sizeof name, &val))) return rc;
        if (!strcmp(name, "help")) return usage(stdout), -1;
        if (!strcmp(name, "approx-draws")) o->ao_given = 1;
        if (lb_spec_input_opt(&o->io, name, val, &rc) || lb_ax_opt(&o->ao, name, val, &rc)) {
            if (rc) return rc;
        } else if (!strcmp(name, "out")) o->out = val;
        else if (!strcmp(name, "n")) o->ns = val;
        else if (!strcmp(name, "layers")) o->layers_s = val;
        else if (!strcmp(name, "heads")) o->heads_s = val;
        else if (!strcmp(name, "proj-k")) o->pks = val;
        else if (!strcmp(name, "sequences")) {
            if (lb_parse_long(val, &o->S, 1, 1L << 30, "--sequences")) return EX_USAGE;
        } else if (!strcmp(name, "proj-sequences")) {
            if (lb_parse_long(val, &o->PS, 0, 1L << 30, "--proj-sequences")) return EX_USAGE;
        } else if (!strcmp(name, "index")) {
            if (lb_parse_long(val, &o->index, 1, 1L << 20, "--index")) return EX_USAGE;
        } else {
            lb_err("spectrum: unknown option --%s (see linbench spectrum --help)", name);
            return EX_USAGE;
        }
    }
    if (!o->out || !*o->out) return lb_err("spectrum: --out PREFIX is required"), EX_USAGE;
    if (o->pks && (o->nk = lb_parse_list(o->pks, o->kl, MAX_K_LIST, 1, 1L << 20, "--proj-k")) < 1)
        return EX_USAGE;
    o->ao.seed = o->io.win.seed; /* each window's R draws follow the window seed */
    if (lb_mpi_size() > 1 && !o->ao_given && o->ao.draws > 0) { /* not split across ranks yet */
        o->ao.draws = 0;
        if (lb_mpi_rank() == 0)
            fprintf(stderr, "spectrum: note: under MPI the approximations of PV are off "
                            "(--approx-draws 0); run them on one rank\n");
    }
    return 0;
}

/* One length against the model, the ready sequences, --index and --proj-k. */
static int spec_check_n(const spec_state *st, const spec_opts *o, int i) {
    long n = st->nlist[i];
    int ready = st->in.docs.ready_n;
    for (int j = 0; j < i; j++)
        if (st->nlist[j] == n) return lb_err("spectrum: --n lists %ld twice", n), EX_USAGE;
    if (n > st->in.max_n)
        return lb_err("spectrum: %s %ld is past the model's position table (at most %d for "
                      "%s/config.json)", o->ns ? "--n" : "the ready sequences' length n =", n,
                      st->in.max_n, o->io.model_dir), EX_USAGE;
    if (ready > 0 && n != ready)
        return lb_err("spectrum: --n %ld, but %s holds ready sequences of length %d (leave out "
                      "--n to use them)", n, o->io.ids_path, ready), EX_USAGE;
    if (o->index > n)
        return lb_err("spectrum: --index %ld exceeds n = %ld", o->index, n), EX_USAGE;
    for (int j = 0; j < o->nk; j++)
        if (o->kl[j] > n)
            return lb_err("spectrum: --proj-k %ld exceeds n = %ld (k must be <= every n)",
                          o->kl[j], n), EX_USAGE;
    return 0;
}

static int spec_validate(spec_state *st, const spec_opts *o) {
    int rc;
    if (!(st->prefix = lb_out_path(o->out, "spectrum"))) return EX_OSERR;
    if (o->ns && (st->nn = lb_parse_list(o->ns, st->nlist, MAX_N_LIST, 1, 1L << 20, "--n")) < 1)
        return EX_USAGE;
    if ((rc = lb_spec_input_load(&st->in, &o->io))) return rc;
    const lb_config *cf = lb_model_config(st->in.model);
    st->L = cf->layers, st->H = cf->heads, st->d = cf->hidden / cf->heads;
    st->threads = st->in.threads;
    int ready = st->in.docs.ready_n;
    if (!o->ns) st->nlist[st->nn++] = ready > 0 ? ready : st->in.max_n < 512 ? st->in.max_n : 512;
    for (int i = 0; i < st->nn; i++)
        if ((rc = spec_check_n(st, o, i))) return rc;
    st->layers = calloc((size_t)st->L, sizeof(int));
    st->heads = calloc((size_t)st->H, sizeof(int));
    st->layer_pos = calloc((size_t)st->L, sizeof(int));
    if (!st->layers || !st->heads || !st->layer_pos) return lb_err("spectrum: out of memory"), EX_OSERR;
    if ((st->nl = lb_spec_subset(st->layers, o->layers_s, st->L, "--layers")) < 0 ||
        (st->nh = lb_spec_subset(st->heads, o->heads_s, st->H, "--heads")) < 0)
        return EX_USAGE;
    for (int l = 0; l < st->L; l++) st->layer_pos[l] = -1;
    for (int l = 0; l < st->nl; l++) st->layer_pos[st->layers[l]] = l;
    if (lb_mpi_size() > 1 && o->ao.draws > 0)
        return lb_err("spectrum: the approximations (--approx-draws) are not split across MPI "
                      "ranks yet: give --approx-draws 0, or run on one rank"), EX_USAGE;
    /* the output set before the work: a bad destination fails now. Under MPI rank 0
     * checks the path, then drops the set and reopens it after the merge, so that a
     * rank killed mid-run leaves no temporaries. */
    if (lb_mpi_rank() == 0 && lb_spec_out_open(&st->fo, st->prefix)) return EX_CANTCREAT;
    if (lb_mpi_size() > 1) lb_spec_out_abort(st->fo), st->fo = NULL;
    return 0;
}

/* Projection sizes, accumulators and R seeds of the run at length n. */
static int spec_prepare(spec_state *st, const spec_opts *o, lb_spec_run *r, int n,
                        uint64_t **seeds, int *kmax) {
    static const int defk[] = {16, 32, 64, 128, 256};
    int *ks = malloc(sizeof(int) * MAX_K_LIST), nl = st->nl, nh = st->nh;
    r->n = n;
    r->index = o->index ? (int)o->index : (n / 4 > 0 ? n / 4 : 1);
    r->nl = nl, r->nh = nh, r->layers = st->layers, r->heads = st->heads;
    if (!(r->ks = ks)) return EX_OSERR;
    for (int j = 0; j < (o->nk ? o->nk : 5); j++)
        if (o->nk || defk[j] <= n) ks[r->nks++] = o->nk ? (int)o->kl[j] : defk[j];
    if (r->nks == 0) ks[r->nks++] = n; /* n < 16: at least k = n */
    *kmax = 1;
    for (int j = 0; j < r->nks; j++) *kmax = ks[j] > *kmax ? ks[j] : *kmax;
    r->acc = calloc((size_t)nl * nh, sizeof(lb_spec_acc));
    r->pe = calloc((size_t)nl * nh * r->nks * LB_PE_COUNT, sizeof(lb_welford));
    *seeds = malloc(sizeof(uint64_t) * (size_t)nl * nh * r->nks);
    if (!r->acc || !r->pe || !*seeds) return EX_OSERR;
    for (int a = 0; a < nl * nh; a++)
        if (lb_spec_acc_init(&r->acc[a], n, r->index)) return EX_OSERR;
    for (int l = 0; l < nl; l++)
        for (int h = 0; h < nh; h++)
            for (int j = 0; j < r->nks; j++)
                (*seeds)[((size_t)l * nh + h) * r->nks + j] =
                    lb_proj_seed(o->io.win.seed, st->layers[l], st->heads[h], ks[j]);
    return 0;
}

/* Every window through the encoder; the callback folds each head into r. */
static int spec_loop(spec_state *st, const spec_opts *o, lb_spec_run *r, spec_ctx *ctx,
                     lb_windows *win, lb_encoder *enc, lb_batch *b) {
    long count = (long)lb_windows_count(win);
    int n = r->n;
    char msg[1024];
    for (long s = 0; s < count; s++) {
        if (!lb_spec_mine(s)) continue; /* MPI: window s goes to rank s mod size */
        lb_windows_fill(b, win, (size_t)s);
        ctx->m = 0;
        for (int j = 0; j < n; j++)
            if (b->mask[j] != 0) ctx->real[ctx->m++] = j;
        ctx->do_proj = s < o->PS;
        if (ctx->ax && lb_approx_window(ctx->ax, s, b->mask, msg, sizeof msg)) {
            lb_progress_done(&st->pg);
            return lb_err("spectrum: n = %d, sequence %ld: %s", n, s, msg), EX_DATAERR;
        }
        double before = r->analysis_s, t0 = lb_now();
        if (lb_encoder_forward(enc, NULL, b->ids, b->token_types, b->mask, spec_cb, ctx, msg,
                               sizeof msg)) {
            lb_progress_done(&st->pg);
            return lb_err("spectrum: n = %d, sequence %ld: %s", n, s, msg), EX_DATAERR;
        }
        if (ctx->failed) {
            lb_progress_done(&st->pg);
            return lb_err("spectrum: n = %d, sequence %ld: %s", n, s, ctx->msg), EX_SOFTWARE;
        }
        r->forward_s += (lb_now() - t0) - (r->analysis_s - before);
        r->sequences++;
        r->proj_sequences += ctx->do_proj;
        r->tokens += n;
        r->real_tokens += ctx->m;
        lb_progress_add(&st->pg, (double)n * n);
    }
    lb_progress_done(&st->pg);
    return 0;
}

static void spec_report_run(const lb_spec_run *r, double seconds, int index_given) {
    printf("n = %d: %ld sequences, forward %.0f tokens/s (%.2f s), analysis %.2f s, "
           "total %.2f s; index %d%s\n", r->n, r->sequences,
           r->tokens / (r->forward_s > 0 ? r->forward_s : 1), r->forward_s, r->analysis_s,
           seconds, r->index, index_given ? "" : " (n/4)");
    if (r->real_tokens < r->tokens)
        printf("  padding: %.1f%% of positions; each P restricted to real queries x real "
               "keys\n", 100.0 * (1 - r->real_tokens / r->tokens));
}

/* One length: windows, encoder and workspaces, the loop, then free them. */
static int spec_run_n(spec_state *st, const spec_opts *o, int i) {
    lb_spec_run *r = &st->runs[i];
    uint64_t *seeds = NULL;
    lb_windows *win = NULL;
    lb_encoder *enc = NULL;
    lb_batch b = {0};
    thread_ws *tw = NULL;
    int n = (int)st->nlist[i], kmax, rc, *real = malloc(sizeof(int) * (size_t)n);
    char msg[1024] = "out of memory";
    if ((rc = spec_prepare(st, o, r, n, &seeds, &kmax)) || !real) {
        lb_err("spectrum: out of memory");
        rc = EX_OSERR;
    } else if (!(rc = lb_spec_windows(&win, &st->in, &o->io, n, o->S))) {
        char tw_msg[256]; /* trained-length guard: a warning here, a mark in the report */
        if (lb_trained_beyond(&st->in.trained, n, tw_msg, sizeof tw_msg))
            fprintf(stderr, "spectrum: warning: %s\n", tw_msg);
        r->windows_total = (long)lb_windows_total(win);
        r->policy = strdup(lb_windows_describe(win));
        lb_encoder_opts eo = {.method = LB_ATTN_FULL, .threads = st->in.forward_threads};
        lb_encoder_opts_for_model(&eo, st->in.model); /* a Linformer model runs its learned E, F */
        if (lb_batch_init(&b, 1, n, msg, sizeof msg) ||
            lb_encoder_init(&enc, st->in.model, 1, n, &eo, 1, msg, sizeof msg) ||
            !(tw = make_ws(st->threads, n, st->d, kmax, r->nks, o->PS > 0))) {
            lb_err("spectrum: n = %d: %s", n, tw || enc ? "out of memory for the analysis "
                   "workspaces" : msg);
            rc = EX_OSERR;
        } else if (lb_spec_approx_init(&st->ax[i], &o->ao, &st->in, n, (long)lb_windows_count(win),
                                       st->nl, st->layers, st->nh, st->heads, msg, sizeof msg)) {
            lb_err("spectrum: n = %d: %s", n, msg);
            rc = EX_OSERR;
        } else {
            spec_ctx ctx = {.run = r, .layer_pos = st->layer_pos, .tw = tw,
                            .threads = st->threads, .real = real, .seeds = seeds, .ax = st->ax[i]};
            double t0 = lb_now();
            if (!(rc = spec_loop(st, o, r, &ctx, win, enc, &b)))
                spec_report_run(r, lb_now() - t0, o->index != 0);
        }
    }
    free_ws(tw, st->threads);
    lb_encoder_free(enc);
    lb_batch_free(&b);
    lb_windows_free(win);
    free(real), free(seeds);
    return rc;
}

/* MPI: rank 0 merges every rank's accumulators (Chan et al.) and writes alone. */
static int spec_merge(spec_state *st) {
    char msg[512];
    if (lb_spec_runs_merge(st->runs, st->nruns, msg, sizeof msg))
        return lb_err("spectrum: merge: %s", msg), EX_SOFTWARE;
    return 0;
}

static int spec_write(spec_state *st, const spec_opts *o, int argc, char **argv) {
    if (!st->fo && lb_spec_out_open(&st->fo, st->prefix)) return EX_CANTCREAT;
    const lb_spec_input *in = &st->in;
    lb_spec_params p = {.io = &o->io,
                        .tokenizer = in->tok ? lb_tokenizer_describe(in->tok) : "none (ids)",
                        .sequences = o->S, .proj_sequences = o->PS, .index_opt = (int)o->index,
                        .proj_k_given = o->nk > 0, .threads = st->threads,
                        .forward_threads = in->forward_threads, .ready = in->docs.ready_n > 0,
                        .bos = in->bos, .eos = in->eos, .pad = in->pad, .trained = &in->trained};
    if (lb_spec_out_write(st->fo, st->runs, st->nruns, &p, argc, argv)) return EX_IOERR;
    char msg[1200];
    if (o->ao.draws > 0 && lb_approx_write(lb_spec_out_set(st->fo), st->ax, st->nruns, st->prefix,
                                           argc, argv, msg, sizeof msg))
        return lb_err("spectrum: %s", msg), EX_IOERR;
    int rc = lb_spec_out_commit(st->fo); /* reports a failed write, with its reason */
    st->fo = NULL;
    if (rc) return EX_IOERR;
    printf("wrote %s.csv, %s_summary.csv, %s_projerr.csv, %s.json and more\n", st->prefix,
           st->prefix, st->prefix, st->prefix);
    return EX_OK;
}

static void spec_free(spec_state *st) {
    lb_spec_out_abort(st->fo);
    for (int i = 0; i < MAX_N_LIST; i++) {
        lb_spec_run *r = &st->runs[i];
        for (int a = 0; r->acc && a < st->nl * st->nh; a++) lb_spec_acc_free(&r->acc[a]);
        free(r->acc), free(r->pe), free((void *)r->ks), free((void *)r->policy);
    }
    for (int i = 0; i < MAX_N_LIST; i++) lb_approx_free(st->ax[i]);
    free(st->layers), free(st->heads), free(st->layer_pos), free(st->prefix);
    lb_spec_input_free(&st->in);
}

int lb_cmd_spectrum(int argc, char **argv) {
    spec_opts o;
    spec_state st;
    memset(&st, 0, sizeof st);
    int rc = spec_parse(&o, argc, argv);
    if (rc) return rc < 0 ? EX_OK : rc;
    lb_outset_catch_signals();
    if (!(rc = spec_validate(&st, &o))) {
        double total = 0;
        for (int i = 0; i < st.nn; i++) total += (double)o.S * st.nlist[i] * st.nlist[i];
        lb_progress_init(&st.pg, "spectrum", total / lb_mpi_size(), !o.io.quiet && lb_mpi_rank() == 0);
        for (int i = 0; i < st.nn && !rc; i++, st.nruns++) rc = spec_run_n(&st, &o, i);
        if (!rc) rc = spec_merge(&st);
        if (!rc && lb_mpi_rank() == 0) rc = spec_write(&st, &o, argc, argv);
    }
    spec_free(&st);
    return rc;
}
