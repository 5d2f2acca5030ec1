/* `linbench spectrum`: singular-value spectra of the attention matrices P of a
 * checkpoint over many sequences (Linformer Figure 1), per layer and head, at one
 * or more lengths n, plus the projection error of low-rank stand-ins for P.
 *
 * One sequence at a time: the encoder hands over each layer's probabilities and
 * q, k, v; the selected heads are analysed in parallel (OpenMP over heads, BLAS
 * and LAPACK single-threaded inside, one workspace per thread made up front) and
 * folded into streaming accumulators, so memory does not grow with the count. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lb_cmd.h"
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
        int ld = cols;
        char msg[512];
        if (padded) { /* real queries × real keys only (lb_spectrum.h, padding) */
            gather(w->pg, P, cols, c->real, m, c->real, m);
            P = w->pg;
            ld = m;
        }
        int bad = lb_svd_values(w->svd, w->sigma, P, m, m, ld, msg, sizeof msg);
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
    fputs("usage: linbench spectrum --model DIR (--text FILE | --ids FILE) --out PREFIX [options]\n"
          "Singular-value spectra of P = softmax(QK^T/sqrt(d)) per layer and head (Figure 1),\n"
          "and the error of low-rank stand-ins for P. Files: see PREFIX.json \"files\".\n"
          "  --n LIST             lengths, e.g. 128,256,512 (default min(512, position table))\n"
          "  --sequences N        windows per n (default 100)\n"
          "  --index I            1-based index for the 'at index' statistics (default n/4:\n"
          "                       128 at n = 512, as the paper's heatmap)\n"
          "  --layers LIST|all    0-based layer subset; --heads LIST|all likewise\n"
          "  --proj-k LIST        projection sizes (default 16,32,64,128,256 capped at n)\n"
          "  --proj-sequences N   sequences for the projection error (default 4; 0 = off)\n"
          "  --out PREFIX         result prefix (PREFIX.csv, PREFIX_summary.csv, ...)\n",
          f);
    lb_spec_input_usage(f);
}

int lb_cmd_spectrum(int argc, char **argv) {
    lb_spec_input_opts o;
    lb_spec_input_defaults(&o);
    /* The forward runs on all threads by default (quiet machine, 4 layers, hidden 256,
     * n 512: 12700 tokens/s on 2 threads vs 8100 on 1). On a busy machine spinning
     * OpenMP threads can make it 50 times slower: --forward-threads 1 or
     * OMP_WAIT_POLICY=passive there. */
    o.forward_threads = 0;
    const char *out = NULL, *ns = NULL, *layers_s = NULL, *heads_s = NULL, *pks = NULL;
    long S = 100, PS = 4, index = 0, nl_[MAX_N_LIST], kl[MAX_K_LIST];
    static const char *const flags[] = {"help", "per-line", "quiet", NULL};
    char name[64];
    const char *val;
    int rc, nn = 0, nk = 0;
    for (int i = 1; i < argc;) {
        if ((rc = lb_spec_next_opt(argc, argv, &i, flags, name, sizeof name, &val))) return rc;
        if (!strcmp(name, "help")) {
            usage(stdout);
            return EX_OK;
        }
        if (lb_spec_input_opt(&o, name, val, &rc)) {
            if (rc) return rc;
        } else if (!strcmp(name, "out")) out = val;
        else if (!strcmp(name, "n")) ns = val;
        else if (!strcmp(name, "layers")) layers_s = val;
        else if (!strcmp(name, "heads")) heads_s = val;
        else if (!strcmp(name, "proj-k")) pks = val;
        else if (!strcmp(name, "sequences")) {
            if (lb_parse_long(val, &S, 1, 1L << 30, "--sequences")) return EX_USAGE;
        } else if (!strcmp(name, "proj-sequences")) {
            if (lb_parse_long(val, &PS, 0, 1L << 30, "--proj-sequences")) return EX_USAGE;
        } else if (!strcmp(name, "index")) {
            if (lb_parse_long(val, &index, 1, 1L << 20, "--index")) return EX_USAGE;
        } else {
            lb_err("spectrum: unknown option --%s (see linbench spectrum --help)", name);
            return EX_USAGE;
        }
    }
    if (!out || !*out) {
        lb_err("spectrum: --out PREFIX is required");
        return EX_USAGE;
    }
    if (ns && (nn = lb_parse_list(ns, nl_, MAX_N_LIST, 1, 1L << 20, "--n")) < 1) return EX_USAGE;
    if (pks && (nk = lb_parse_list(pks, kl, MAX_K_LIST, 1, 1L << 20, "--proj-k")) < 1)
        return EX_USAGE;
    lb_spec_input in;
    if ((rc = lb_spec_input_load(&in, &o))) return rc;
    const lb_config *cf = lb_model_config(in.model);
    int L = cf->layers, H = cf->heads, d = cf->hidden / cf->heads;
    int threads = in.threads;
    int *layers = calloc((size_t)L, sizeof(int)), *heads = calloc((size_t)H, sizeof(int));
    int *layer_pos = calloc((size_t)L, sizeof(int)), nl = -1, nh = -1;
    lb_spec_run runs[MAX_N_LIST];
    int nruns = 0;
    lb_spec_out *fo = NULL;
    memset(runs, 0, sizeof runs);
    rc = EX_USAGE;
    if (!layers || !heads || !layer_pos) goto oom;
    if (!ns) nl_[nn++] = in.max_n < 512 ? in.max_n : 512;
    for (int i = 0; i < nn; i++) {
        for (int j = 0; j < i; j++)
            if (nl_[j] == nl_[i]) {
                lb_err("spectrum: --n lists %ld twice", nl_[i]);
                goto done;
            }
        if (nl_[i] > in.max_n) {
            lb_err("spectrum: --n %ld is past the model's position table (at most %d for "
                   "%s/config.json)", nl_[i], in.max_n, o.model_dir);
            goto done;
        }
        if (index > nl_[i]) {
            lb_err("spectrum: --index %ld exceeds n = %ld", index, nl_[i]);
            goto done;
        }
        for (int j = 0; j < nk; j++)
            if (kl[j] > nl_[i]) {
                lb_err("spectrum: --proj-k %ld exceeds n = %ld (k must be <= every n)", kl[j],
                       nl_[i]);
                goto done;
            }
    }
    if ((nl = lb_spec_subset(layers, layers_s, L, "--layers")) < 0 ||
        (nh = lb_spec_subset(heads, heads_s, H, "--heads")) < 0)
        goto done;
    for (int l = 0; l < L; l++) layer_pos[l] = -1;
    for (int l = 0; l < nl; l++) layer_pos[layers[l]] = l;
    if (lb_mpi_rank() == 0 && lb_spec_out_open(&fo, out)) {
        rc = EX_CANTCREAT;
        goto done;
    }
    if (lb_mpi_size() > 1) /* MPI: path checked; rank 0 reopens after the merge, so a */
        lb_spec_out_abort(fo), fo = NULL; /* rank killed mid-run leaves no temporaries */
    double total = 0;
    for (int i = 0; i < nn; i++) total += (double)S * nl_[i] * nl_[i];
    lb_progress pg;
    lb_progress_init(&pg, "spectrum", total / lb_mpi_size(), !o.quiet && lb_mpi_rank() == 0);
    for (int i = 0; i < nn; i++, nruns++) {
        int n = (int)nl_[i];
        lb_spec_run *r = &runs[i];
        r->n = n;
        r->index = index ? (int)index : (n / 4 > 0 ? n / 4 : 1);
        r->nl = nl, r->nh = nh, r->layers = layers, r->heads = heads;
        int *ks = malloc(sizeof(int) * MAX_K_LIST), kmax = 1;
        static const int defk[] = {16, 32, 64, 128, 256};
        if (!ks) goto oom;
        r->ks = ks;
        if (nk)
            for (int j = 0; j < nk; j++) ks[r->nks++] = (int)kl[j];
        else
            for (int j = 0; j < 5; j++)
                if (defk[j] <= n) ks[r->nks++] = defk[j];
        if (r->nks == 0) ks[r->nks++] = n; /* n < 16: at least k = n */
        for (int j = 0; j < r->nks; j++) kmax = ks[j] > kmax ? ks[j] : kmax;
        r->acc = calloc((size_t)nl * nh, sizeof(lb_spec_acc));
        r->pe = calloc((size_t)nl * nh * r->nks * LB_PE_COUNT, sizeof(lb_welford));
        uint64_t *seeds = malloc(sizeof(uint64_t) * (size_t)nl * nh * r->nks);
        if (!r->acc || !r->pe || !seeds) {
            free(seeds);
            goto oom;
        }
        for (int a = 0; a < nl * nh; a++)
            if (lb_spec_acc_init(&r->acc[a], n, r->index)) {
                free(seeds);
                goto oom;
            }
        for (int l = 0; l < nl; l++)
            for (int h = 0; h < nh; h++)
                for (int j = 0; j < r->nks; j++)
                    seeds[((size_t)l * nh + h) * r->nks + j] =
                        lb_proj_seed(o.win.seed, layers[l], heads[h], ks[j]);
        lb_windows *win = NULL;
        lb_encoder *enc = NULL;
        lb_batch b = {0};
        thread_ws *tw = NULL;
        int *real = malloc(sizeof(int) * (size_t)n);
        char msg[1024];
        if ((rc = lb_spec_windows(&win, &in, &o, n, S))) goto run_fail;
        r->windows_total = (long)lb_windows_total(win);
        r->policy = strdup(lb_windows_describe(win));
        long count = (long)lb_windows_count(win);
        rc = EX_SOFTWARE;
        lb_encoder_opts eo = {.method = LB_ATTN_FULL, .threads = in.forward_threads};
        snprintf(msg, sizeof msg, "out of memory");
        int ok = real && !lb_batch_init(&b, 1, n, msg, sizeof msg) &&
                 !lb_encoder_init(&enc, in.model, 1, n, &eo, 1, msg, sizeof msg);
        if (ok && !(tw = make_ws(threads, n, d, kmax, r->nks, PS > 0))) {
            snprintf(msg, sizeof msg, "out of memory for the analysis workspaces");
            ok = 0;
        }
        if (!ok) {
            lb_err("spectrum: n = %d: %s", n, msg);
            rc = EX_OSERR;
            goto run_fail;
        }
        spec_ctx ctx = {.run = r, .layer_pos = layer_pos, .tw = tw, .threads = threads,
                        .real = real, .seeds = seeds};
        double t_all = 0;
        for (long s = 0; s < count; s++) {
            if (!lb_spec_mine(s)) continue; /* MPI: window s goes to rank s mod size */
            lb_windows_fill(&b, win, (size_t)s);
            ctx.m = 0;
            for (int j = 0; j < n; j++)
                if (b.mask[j] != 0) real[ctx.m++] = j;
            ctx.do_proj = s < PS;
            double before = r->analysis_s, t0 = lb_now();
            if (lb_encoder_forward(enc, NULL, b.ids, b.token_types, b.mask, spec_cb, &ctx, msg,
                                   sizeof msg)) {
                lb_progress_done(&pg);
                lb_err("spectrum: n = %d, sequence %ld: %s", n, s, msg);
                rc = EX_DATAERR;
                goto run_fail;
            }
            if (ctx.failed) {
                lb_progress_done(&pg);
                lb_err("spectrum: n = %d, sequence %ld: %s", n, s, ctx.msg);
                goto run_fail;
            }
            t_all += lb_now() - t0;
            r->forward_s += (lb_now() - t0) - (r->analysis_s - before);
            r->sequences++;
            r->proj_sequences += ctx.do_proj;
            r->tokens += n;
            r->real_tokens += ctx.m;
            lb_progress_add(&pg, (double)n * n);
        }
        lb_progress_done(&pg);
        printf("n = %d: %ld sequences, forward %.0f tokens/s (%.2f s), analysis %.2f s, "
               "total %.2f s; index %d%s\n", n, r->sequences,
               r->tokens / (r->forward_s > 0 ? r->forward_s : 1), r->forward_s, r->analysis_s,
               t_all, r->index, index ? "" : " (n/4)");
        if (r->real_tokens < r->tokens)
            printf("  padding: %.1f%% of positions; each P restricted to real queries x real "
                   "keys\n", 100.0 * (1 - r->real_tokens / r->tokens));
        rc = 0;
    run_fail:
        free_ws(tw, threads);
        lb_encoder_free(enc);
        lb_batch_free(&b);
        lb_windows_free(win);
        free(real);
        free(seeds);
        if (rc) goto done;
    }
    char mmsg[512]; /* MPI: rank 0 merges every rank's accumulators and writes alone */
    if (lb_spec_runs_merge(runs, nruns, mmsg, sizeof mmsg)) {
        lb_err("spectrum: merge: %s", mmsg);
        rc = EX_SOFTWARE;
        goto done;
    }
    if (lb_mpi_rank() != 0) goto done; /* rc is 0 here */
    if (!fo && lb_spec_out_open(&fo, out)) {
        rc = EX_CANTCREAT;
        goto done;
    }
    if (lb_spec_out_write(fo, runs, nruns, &(lb_spec_params){
                              .io = &o, .tokenizer = in.tok ? lb_tokenizer_describe(in.tok)
                                                            : "none (ids)",
                              .sequences = S, .proj_sequences = PS, .index_opt = (int)index,
                              .proj_k_given = nk > 0, .threads = threads,
                              .forward_threads = in.forward_threads, .bos = in.bos,
                              .eos = in.eos, .pad = in.pad},
                          argc, argv)) {
        rc = EX_IOERR;
        goto done;
    }
    rc = lb_spec_out_commit(fo) ? EX_IOERR : EX_OK;
    fo = NULL;
    if (!rc) printf("wrote %s.csv, %s_summary.csv, %s_projerr.csv, %s.json and more\n", out, out,
                    out, out);
    goto done;
oom:
    lb_err("spectrum: out of memory");
    rc = EX_OSERR;
done:
    lb_spec_out_abort(fo);
    for (int i = 0; i < MAX_N_LIST; i++) { /* runs[] was zeroed: safe past nruns too */
        for (int a = 0; runs[i].acc && a < nl * nh; a++) lb_spec_acc_free(&runs[i].acc[a]);
        free(runs[i].acc), free(runs[i].pe), free((void *)runs[i].ks);
        free((void *)runs[i].policy);
    }
    free(layers), free(heads), free(layer_pos);
    lb_spec_input_free(&in);
    return rc;
}
