/* The training loop of `linbench train`: set up (fresh or resumed), then per step a
 * batch from the loader, dynamic masking, forward+backward (lb_mlm_step), clipping,
 * AdamW; periodic validation, log lines, checkpoints. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_mpi.h"
#include "lb_progress.h"
#include "lb_train.h"
#include "lb_train_model.h"
#include "lb_util.h"
#include "train_int.h"

#define CSV_HEADER "step,tokens,n,lr,train_loss,grad_norm,val_loss,val_ppl,val_masked_acc,tokens_per_s,elapsed_s"

/* What the loop carries from step to step: the session's clock, the training loss
 * averaged since the last log line, and the progress line. */
typedef struct {
    long start, end;        /* steps done when this session began; the step it stops at */
    double t0, tok0, el0;   /* session start: time, tokens seen, elapsed over earlier sessions */
    double loss_acc, norm_last;
    int loss_n;
    lb_progress pg;
} lb_loop;

/* (Re)make the workspace, batch and labels for B sequences of length n. */
static int set_length(lb_run *r, const lb_train_opts *o, int n, int B, char *msg, size_t msglen) {
    char why[512];
    if (r->ws && r->ws_n == n && r->ws_batch == B) return 0;
    lb_mlm_free(r->ws);
    r->ws = NULL;
    lb_batch_free(&r->b);
    memset(&r->b, 0, sizeof r->b);
    free(r->labels);
    r->labels = NULL;
    free(r->shift);
    r->shift = NULL;
    if (lb_mlm_init(&r->ws, r->m, B, n, o->threads, why, sizeof why) || lb_batch_init(&r->b, B, n, why, sizeof why))
        return lb_fail(msg, msglen, "n = %d, batch %d: %s", n, B, why);
    if (!(r->labels = malloc((size_t)B * (size_t)n * sizeof *r->labels)) ||
        !(r->shift = malloc((size_t)B * sizeof *r->shift)))
        return lb_fail(msg, msglen, "out of memory for labels");
    r->ws_n = n, r->ws_batch = B;
    return 0;
}

/* Tokens seen after `steps` updates (B·n per step, padding included; B per phase). */
static double tokens_after(const lb_train_opts *o, long steps) {
    double t = 0;
    for (long s = 0; s < steps;) {
        int ph, n = lb_curriculum_n(&o->curr, s, &ph), B = lb_curriculum_batch(&o->curr, s, o->batch);
        long start = 0;
        for (int i = 0; i < ph; i++) start += o->curr.steps[i];
        long end = ph + 1 < o->curr.count ? start + o->curr.steps[ph] : steps;
        if (end > steps) end = steps;
        t += (double)(end - s) * B * n;
        s = end;
    }
    return t;
}

/* Mask the batch's validation rows from first on; rows past got repeat row 0 with no
 * labels. *top counts labels equal to the unigram guess. */
static int mask_valid_rows(lb_run *r, int got, size_t first, uint64_t vseed, long *top) {
    int n = r->ws_n;
    for (int i = 0; i < r->b.cap; i++) {
        size_t off = (size_t)i * n;
        if (i >= got) {
            memcpy(r->b.ids + off, r->b.ids, (size_t)n * sizeof *r->b.ids);
            memcpy(r->b.mask + off, r->b.mask, (size_t)n * sizeof *r->b.mask);
            for (int j = 0; j < n; j++) r->labels[off + j] = LB_MLM_IGNORE;
            continue;
        }
        if (lb_mask_sequence(r->b.ids + off, r->labels + off, r->b.mask + off, n, &r->mc, vseed, 0,
                             first + (size_t)i) < 0)
            return -1;
        for (int j = 0; j < n; j++) *top += r->labels[off + j] == r->top;
    }
    return 0;
}

/* Validation at the current length: fixed windows (seed 1) and fixed masking, so
 * values are comparable across steps. loss, acc and the unigram baseline's accuracy
 * are per predicted token. */
static int evaluate(lb_run *r, const lb_train_opts *o, double *loss, double *acc, double *base, char *msg,
                    size_t msglen) {
    char why[512];
    lb_win_opts wo;
    lb_win_opts_default(&wo);
    wo.n = r->ws_n, wo.seed = 1, wo.bos = r->bos, wo.eos = r->eos, wo.pad = r->pad;
    wo.max_count = o->eval_batches * o->batch; /* the same windows whatever the phase's batch */
    lb_windows *w;
    if (lb_windows_init(&w, &r->valid, &wo, why, sizeof why))
        return lb_fail(msg, msglen, "%s: validation windows: %s", o->valid, why);
    double sum = 0;
    long pred = 0, correct = 0, top = 0;
    size_t count = lb_windows_count(w);
    uint64_t vseed = lb_seed_mix(o->seed, 0x76616c6964ULL /* "valid" */, 0);
    int rc = 0;
    for (size_t first = 0; first < count && !rc; first += (size_t)r->b.cap) {
        int got = lb_windows_fill(&r->b, w, first);
        lb_mlm_stats s;
        if (mask_valid_rows(r, got, first, vseed, &top)) rc = lb_fail(msg, msglen, "out of memory");
        else if (lb_mlm_eval(r->ws, r->b.ids, r->b.mask, r->labels, &s, why, sizeof why))
            rc = lb_fail(msg, msglen, "validation: %s", why);
        else sum += s.loss_sum, pred += s.n_pred, correct += s.n_correct;
    }
    lb_windows_free(w);
    *loss = pred ? sum / pred : NAN;
    *acc = pred ? (double)correct / pred : NAN;
    *base = pred ? (double)top / pred : NAN;
    return rc;
}

static int checkpoint(lb_run *r, const lb_train_opts *o, char *msg, size_t msglen) {
    char dir[4096], why[1024];
    if (lb_mpi_rank() > 0) return 0; /* MPI: rank 0 writes; every rank holds the same state */
    snprintf(dir, sizeof dir, "%s/checkpoint-%ld", o->out, r->st.step);
    lb_loader_get(r->loader, &r->st.loader);
    if (lb_train_ckpt_save(dir, r->m, r->mom, r->vel, o, &r->st, why, sizeof why))
        return lb_fail(msg, msglen, "checkpoint: %s", why);
    printf("checkpoint %s\n", dir);
    if (!o->keep_all && r->last_ckpt[0] && strcmp(r->last_ckpt, dir))
        lb_remove_flat_dir(r->last_ckpt); /* only checkpoints this session wrote */
    snprintf(r->last_ckpt, sizeof r->last_ckpt, "%s", dir);
    return 0;
}

static int export_model(const lb_run *r, const lb_curriculum *curr, const char *dir, const char *tokdir,
                        char *msg, size_t msglen) {
    char why[1024];
    if (lb_export_model(dir, r->m, tokdir, LB_DTYPE_BF16, curr, &r->st, why, sizeof why))
        return lb_fail(msg, msglen, "export: %s", why);
    printf("exported the BF16 model of step %ld to %s\n", r->st.step, dir);
    return 0;
}

/* --resume with --export-bf16: the weights as saved; no corpus, no training. */
static int export_only(const lb_train_opts *o, lb_train_status *st, char *msg, size_t msglen) {
    lb_run r = {.lock = -1};
    lb_train_opts saved;
    char why[1024];
    int rc = 0;
    *st = LB_TRAIN_DONE;
    if (lb_train_ckpt_load(o->resume, &r.m, &r.mom, &r.vel, &saved, &r.st, why, sizeof why))
        rc = lb_run_fail(st, LB_TRAIN_BAD_DATA, msg, msglen, "resume: %s", why);
    else if (export_model(&r, &saved.curr, o->export_bf16, o->resume, msg, msglen))
        rc = -1, *st = LB_TRAIN_CANNOT_WRITE;
    lb_run_free(&r);
    return rc;
}

static void print_config(const lb_run *r, const lb_train_opts *o) {
    printf("linbench train%s: configuration\n", o->resume ? " (resumed)" : "");
    lb_train_opts_print(stdout, o);
    printf("  parameters    %zu (%.1f MB F32; optimizer state twice that)\n", lb_model_param_elems(r->m),
           lb_model_param_elems(r->m) * 4e-6);
    printf("  tokenizer     %s\n", lb_tokenizer_describe(r->tok));
    printf("  train corpus  %zu documents, %zu tokens\n", r->train.n_docs, r->train.n_tokens);
    if (r->have_valid) printf("  valid corpus  %zu documents, %zu tokens\n", r->valid.n_docs, r->valid.n_tokens);
    if (o->resume) printf("  resumed at    step %ld from %s\n", r->st.step, o->resume);
    fflush(stdout);
}

/* The output folder, its lock (two trainers on one folder would interleave the log and
 * prune each other's checkpoints: the second one stops here) and the log file. */
static int open_outputs(lb_run *r, const lb_train_opts *o, lb_train_status *st, char *msg, size_t msglen) {
    if (lb_mkdirs(o->out)) return lb_run_fail(st, LB_TRAIN_CANNOT_WRITE, msg, msglen, "--out %s: cannot create", o->out);
    if (lb_mpi_rank() == 0 && (r->lock = lb_train_lock(o->out, msg, msglen)) < 0)
        return *st = LB_TRAIN_BUSY, -1;
    print_config(r, o);
    if (!o->log) return 0;
    if (!(r->log = fopen(o->log, "w"))) return lb_run_fail(st, LB_TRAIN_CANNOT_WRITE, msg, msglen, "--log %s: cannot create", o->log);
    fprintf(r->log, "%s\n", CSV_HEADER);
    for (size_t i = 0; i < r->st.n_log; i++) fprintf(r->log, "%s\n", r->st.log[i]);
    fflush(r->log);
    return 0;
}

/* Mask every row of the batch for this step: the same (seed, step, row) mask whether
 * or not the run was interrupted. */
static int mask_batch(lb_run *r, const lb_train_opts *o, long step, int n) {
    for (int i = 0; i < r->b.cap; i++) {
        size_t off = (size_t)i * n;
        if (lb_mask_sequence(r->b.ids + off, r->labels + off, r->b.mask + off, n, &r->mc, o->seed, (uint64_t)step,
                             (uint64_t)i) < 0)
            return -1;
    }
    return 0;
}

/* --pos-shift: every row of this step's batch at its own offset in the position table,
 * so the short phases of a curriculum train the rows a longer phase will use. */
static void draw_shifts(lb_run *r, const lb_train_opts *o, long step) {
    int32_t room = (int32_t)lb_mlm_pos_shift_room(r->ws); /* r->ws is at this step's n */
    for (int i = 0; i < r->b.cap; i++) r->shift[i] = lb_pos_shift_draw(o->seed, (uint64_t)step, (uint64_t)i, room);
}

/* One update at length n: batch, mask, forward+backward, clip, AdamW. */
static int train_step(lb_run *r, const lb_train_opts *o, int n, double *loss, double *norm, double *lr, char *msg,
                      size_t msglen) {
    char why[1024];
    long step = r->st.step;
    if (set_length(r, o, n, lb_curriculum_batch(&o->curr, step, o->batch), msg, msglen)) return -1;
    if (lb_loader_next(r->loader, &r->b, why, sizeof why)) return lb_fail(msg, msglen, "%s: %s", o->train, why);
    if (mask_batch(r, o, step, n)) return lb_fail(msg, msglen, "out of memory");
    size_t elems = lb_model_param_elems(r->m);
    memset(r->grad, 0, elems * sizeof *r->grad);
    lb_mlm_stats s;
    int shifted = o->pos_shift && step >= o->pos_shift_from;
    if (shifted) draw_shifts(r, o, step);
    if (lb_train_mpi_step(r, o, n, shifted ? r->shift : NULL, &s, why, sizeof why)) /* MPI: summed over ranks */
        return lb_fail(msg, msglen, "step %ld: %s", step, why);
    *loss = s.loss;
    /* --pos-fixed: out of the clipping norm as well as the update, until --pos-learn-from */
    const lb_param *frozen = o->pos_learn_from && step >= o->pos_learn_from ? NULL : r->frozen;
    if (frozen) memset(r->grad + frozen->offset, 0, frozen->count * sizeof *r->grad);
    *norm = lb_clip_grad(r->grad, elems, o->clip, o->threads);
    if (!isfinite(*norm) || !isfinite(s.loss))
        return lb_fail(msg, msglen, "step %ld: loss %g, gradient norm %g: training diverged (lower --lr?); the last "
                       "checkpoint is intact", step, s.loss, *norm);
    *lr = lb_lr_at(step, o->steps, o->warmup, o->lr, o->min_lr, o->decay);
    lb_adamw_hp hp = {o->beta1, o->beta2, o->eps};
    float *p = lb_model_params(r->m);
    for (int i = 0; i < lb_model_param_count(r->m); i++) {
        const lb_param *t = lb_model_param(r->m, i);
        if (t == frozen) continue; /* not even weight decay */
        lb_adamw_update(p + t->offset, r->mom + t->offset, r->vel + t->offset, r->grad + t->offset, t->count, &hp,
                        step + 1, *lr, t->decay ? o->wd : 0, o->threads);
    }
    r->st.step = step + 1;
    return 0;
}

/* The log line of the step just done (into the trainer state and --log) and, unless
 * quiet, the same on stdout. v is (val loss, val accuracy, unigram accuracy) or NULL. */
static int log_step(lb_run *r, const lb_train_opts *o, lb_loop *L, int n, double lr, const double *v) {
    long done = r->st.step;
    double now = lb_now(), el = L->el0 + (now - L->t0);
    double tps = (tokens_after(o, done) - L->tok0) / (now - L->t0 > 0 ? now - L->t0 : 1e-9);
    double loss = L->loss_acc / L->loss_n, left = (double)(L->end - done) * (now - L->t0) / (double)(done - L->start);
    char line[512], vbuf[128] = ",,";
    if (v) snprintf(vbuf, sizeof vbuf, "%.6f,%.4f,%.6f", v[0], exp(v[0]), v[1]);
    snprintf(line, sizeof line, "%ld,%.0f,%d,%.6g,%.6f,%.6f,%s,%.1f,%.1f", done, tokens_after(o, done), n, lr, loss,
             L->norm_last, vbuf, tps, el);
    if (lb_train_state_log(&r->st, line)) return -1;
    if (r->log) fprintf(r->log, "%s\n", line), fflush(r->log);
    L->loss_acc = 0, L->loss_n = 0;
    if (o->quiet) return 0;
    lb_progress_done(&L->pg);
    printf("step %ld/%ld n %d lr %.3g loss %.4f |g| %.3g tok/s %.0f left %ld:%02ld:%02ld", done, o->steps, n, lr,
           loss, L->norm_last, tps, (long)left / 3600, (long)left / 60 % 60, (long)left % 60);
    if (v) printf(" | val loss %.4f ppl %.2f acc %.3f (unigram %.3f)", v[0], exp(v[0]), v[1], v[2]);
    printf("\n");
    fflush(stdout);
    return 0;
}

/* After a step: validation and the log line when due, then a periodic checkpoint. */
static int after_step(lb_run *r, const lb_train_opts *o, lb_loop *L, int n, double lr, char *msg, size_t msglen) {
    long done = r->st.step;
    int do_eval = r->have_valid && o->eval_every > 0 && (done % o->eval_every == 0 || done == o->steps);
    int do_log = do_eval || done == L->end || (o->log_every > 0 && done % o->log_every == 0);
    double v[3];
    if (do_eval && evaluate(r, o, &v[0], &v[1], &v[2], msg, msglen)) return -1;
    if (do_log && log_step(r, o, L, n, lr, do_eval ? v : NULL)) return lb_fail(msg, msglen, "out of memory");
    r->st.elapsed = L->el0 + (lb_now() - L->t0);
    if (o->ckpt_every > 0 && done % o->ckpt_every == 0 && done != L->end) return checkpoint(r, o, msg, msglen);
    return 0;
}

/* Steps until L->end or a stop request (then a checkpoint and LB_TRAIN_INTERRUPTED). */
static int train_steps(lb_run *r, const lb_train_opts *o, lb_loop *L, lb_train_status *st, char *msg,
                       size_t msglen) {
    *st = LB_TRAIN_FAILED;
    while (r->st.step < L->end) {
        int n = lb_curriculum_n(&o->curr, r->st.step, NULL);
        double loss = 0, norm = 0, lr = 0;
        if (train_step(r, o, n, &loss, &norm, &lr, msg, msglen)) return -1;
        L->loss_acc += loss, L->loss_n++, L->norm_last = norm;
        lb_progress_add(&L->pg, 1);
        if (after_step(r, o, L, n, lr, msg, msglen)) return -1;
        if (o->stop && *o->stop && r->st.step < L->end) {
            lb_progress_done(&L->pg);
            if (checkpoint(r, o, msg, msglen)) return *st = LB_TRAIN_CANNOT_WRITE, -1;
            *st = LB_TRAIN_INTERRUPTED;
            return lb_fail(msg, msglen, "interrupted after step %ld; continue with --resume %s/checkpoint-%ld",
                           r->st.step, o->out, r->st.step), 0;
        }
    }
    lb_progress_done(&L->pg);
    *st = LB_TRAIN_DONE;
    return 0;
}

int lb_train_run(const lb_train_opts *opts, lb_train_status *st, char *msg, size_t msglen) {
    lb_train_opts o = *opts;
    if (o.resume && o.export_bf16) return export_only(&o, st, msg, msglen);
    lb_run r = {.lock = -1};
    int rc = -1;
    if (lb_run_setup(&r, &o, st, msg, msglen)) goto done; /* a resume may take --threads from the checkpoint */
    int mrc = lb_train_mpi_begin(&r, &o); /* error printed; sysexits code */
    if (mrc) {
        *st = mrc == EX_USAGE ? LB_TRAIN_BAD_OPTIONS : LB_TRAIN_FAILED;
        lb_fail(msg, msglen, "MPI set-up failed (see above)");
        goto done;
    }
    if (o.threads <= 0) o.threads = omp_get_max_threads();
    omp_set_num_threads(o.threads);
    openblas_set_num_threads(o.threads);
    if (open_outputs(&r, &o, st, msg, msglen)) goto done;
    lb_loop L = {.start = r.st.step, .end = o.steps, .t0 = lb_now(), .el0 = r.st.elapsed};
    if (o.stop_after > 0 && r.st.step + o.stop_after < L.end) L.end = r.st.step + o.stop_after;
    L.tok0 = tokens_after(&o, r.st.step);
    lb_progress_init(&L.pg, "train", (double)(L.end - r.st.step), o.progress);
    if (train_steps(&r, &o, &L, st, msg, msglen) || *st == LB_TRAIN_INTERRUPTED) {
        rc = *st == LB_TRAIN_INTERRUPTED ? 0 : -1;
        goto done;
    }
    if (r.st.step == L.start)
        printf("nothing to train: the checkpoint is at step %ld of %ld\n", r.st.step, o.steps);
    else if (checkpoint(&r, &o, msg, msglen))
        goto cannot_write;
    if (o.export_bf16 && export_model(&r, &o.curr, o.export_bf16, o.tokenizer, msg, msglen)) goto cannot_write;
    rc = 0;
    goto done;
cannot_write:
    *st = LB_TRAIN_CANNOT_WRITE;
done:
    lb_run_free(&r);
    return rc;
}
