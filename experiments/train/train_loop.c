/* The training loop of `linbench train`: set up (fresh or resumed), then per step a
 * batch from the loader, dynamic masking, forward+backward (lb_mlm_step), clipping,
 * AdamW; periodic validation, log lines, checkpoints. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_mpi.h"
#include "lb_progress.h"
#include "lb_train.h"
#include "lb_train_model.h"
#include "lb_util.h"
#include "train_int.h"

#define CSV_HEADER "step,tokens,n,lr,train_loss,grad_norm,val_loss,val_ppl,val_masked_acc,tokens_per_s,elapsed_s"


static int set_length(run_t *r, const lb_train_opts *o, int n) {
    char msg[512];
    if (r->ws && r->ws_n == n) return 0;
    lb_mlm_free(r->ws);
    r->ws = NULL;
    lb_batch_free(&r->b);
    memset(&r->b, 0, sizeof r->b);
    free(r->labels);
    r->labels = NULL;
    if (lb_mlm_init(&r->ws, r->m, o->batch, n, o->threads, msg, sizeof msg) ||
        lb_batch_init(&r->b, o->batch, n, msg, sizeof msg)) {
        lb_err("n = %d, batch %d: %s", n, o->batch, msg);
        return -1;
    }
    if (!(r->labels = malloc((size_t)o->batch * (size_t)n * sizeof *r->labels))) {
        lb_err("out of memory for labels");
        return -1;
    }
    r->ws_n = n;
    return 0;
}

/* Tokens seen after `steps` updates (B·n per step, padding included). */
static double tokens_after(const lb_train_opts *o, long steps) {
    double t = 0;
    for (long s = 0; s < steps;) {
        int ph, n = lb_curriculum_n(&o->curr, s, &ph);
        long start = 0;
        for (int i = 0; i < ph; i++) start += o->curr.steps[i];
        long end = ph + 1 < o->curr.count ? start + o->curr.steps[ph] : steps;
        if (end > steps) end = steps;
        t += (double)(end - s) * o->batch * n;
        s = end;
    }
    return t;
}

/* Validation at the current length: fixed windows (seed 1) and fixed masking, so
 * values are comparable across steps. Padding rows of a short last batch repeat row
 * 0 with no labels. */
static int evaluate(run_t *r, const lb_train_opts *o, double *loss, double *acc, double *base) {
    char msg[512];
    int n = r->ws_n, B = o->batch;
    lb_win_opts wo;
    lb_win_opts_default(&wo);
    wo.n = n;
    wo.seed = 1;
    wo.bos = r->bos;
    wo.eos = r->eos;
    wo.pad = r->pad;
    wo.max_count = o->eval_batches * B;
    lb_windows *w;
    if (lb_windows_init(&w, &r->valid, &wo, msg, sizeof msg)) {
        lb_err("%s: validation windows: %s", o->valid, msg);
        return -1;
    }
    double sum = 0;
    long pred = 0, correct = 0, top = 0;
    size_t count = lb_windows_count(w);
    uint64_t vseed = lb_seed_mix(o->seed, 0x76616c6964ULL /* "valid" */, 0);
    for (size_t first = 0; first < count; first += (size_t)B) {
        int got = lb_windows_fill(&r->b, w, first);
        for (int i = 0; i < B; i++) {
            size_t off = (size_t)i * n;
            if (i >= got) {
                memcpy(r->b.ids + off, r->b.ids, (size_t)n * sizeof *r->b.ids);
                memcpy(r->b.mask + off, r->b.mask, (size_t)n * sizeof *r->b.mask);
                for (int j = 0; j < n; j++) r->labels[off + j] = LB_MLM_IGNORE;
                continue;
            }
            if (lb_mask_sequence(r->b.ids + off, r->labels + off, r->b.mask + off, n, &r->mc, vseed, 0,
                                 first + (size_t)i) < 0) {
                lb_windows_free(w);
                lb_err("out of memory");
                return -1;
            }
            for (int j = 0; j < n; j++) top += r->labels[off + j] == r->top;
        }
        lb_mlm_stats s;
        if (lb_mlm_eval(r->ws, r->b.ids, r->b.mask, r->labels, &s, msg, sizeof msg)) {
            lb_windows_free(w);
            lb_err("validation: %s", msg);
            return -1;
        }
        sum += s.loss_sum;
        pred += s.n_pred;
        correct += s.n_correct;
    }
    lb_windows_free(w);
    *loss = pred ? sum / pred : NAN;
    *acc = pred ? (double)correct / pred : NAN;
    *base = pred ? (double)top / pred : NAN;
    return 0;
}

static int checkpoint(run_t *r, const lb_train_opts *o) {
    char dir[4096], msg[1024];
    if (lb_mpi_rank() > 0) return 0; /* MPI: rank 0 writes; every rank holds the same state */
    snprintf(dir, sizeof dir, "%s/checkpoint-%ld", o->out, r->st.step);
    lb_loader_get(r->loader, &r->st.loader);
    if (lb_ckpt_save(dir, r->m, r->mom, r->vel, o, &r->st, msg, sizeof msg)) {
        lb_err("checkpoint: %s", msg);
        return -1;
    }
    printf("checkpoint %s\n", dir);
    if (!o->keep_all && r->last_ckpt[0] && strcmp(r->last_ckpt, dir)) {
        lb_remove_flat_dir(r->last_ckpt); /* only checkpoints this session wrote */
    }
    snprintf(r->last_ckpt, sizeof r->last_ckpt, "%s", dir);
    return 0;
}

static int export_model(const run_t *r, const lb_curriculum *curr, const char *dir, const char *tokdir) {
    char msg[1024];
    if (lb_export_model(dir, r->m, tokdir, LB_CKPT_BF16, curr, &r->st, msg, sizeof msg)) return lb_err("export: %s", msg), -1;
    printf("exported the BF16 model of step %ld to %s\n", r->st.step, dir);
    return 0;
}

static int open_log(run_t *r, const lb_train_opts *o) {
    if (!o->log) return 0;
    r->log = fopen(o->log, "w");
    if (!r->log) return lb_err("--log %s: cannot create", o->log), -1;
    fprintf(r->log, "%s\n", CSV_HEADER);
    for (size_t i = 0; i < r->st.n_log; i++) fprintf(r->log, "%s\n", r->st.log[i]);
    fflush(r->log);
    return 0;
}

int lb_train_run(const lb_train_opts *opts, int argc, char **argv) {
    lb_train_opts o = *opts;
    run_t r;
    memset(&r, 0, sizeof r);
    char msg[1024];
    int lock = -1, rc;
    if (o.resume && o.export_bf16) { /* export only: the weights as saved; no corpus, no training */
        lb_train_opts saved;
        if (lb_ckpt_load(o.resume, &r.m, &r.mom, &r.vel, &saved, &r.st, msg, sizeof msg)) {
            lb_err("resume: %s", msg);
            rc = EX_DATAERR;
        } else {
            rc = export_model(&r, &saved.curr, o.export_bf16, o.resume) ? EX_CANTCREAT : EX_OK;
        }
        goto done;
    }
    rc = lb_train_setup(&r, &o); /* a resume may take --threads from the checkpoint */
    if (rc != EX_OK || (rc = lb_train_mpi_begin(&r, &o)) != EX_OK) goto done;
    if (o.threads <= 0) o.threads = omp_get_max_threads();
    omp_set_num_threads(o.threads);
    openblas_set_num_threads(o.threads);
    rc = EX_SOFTWARE;
    if (lb_mkdirs(o.out)) goto done;
    /* two trainers on one folder would interleave the log and prune each other's
     * checkpoints: the second one stops here */
    if (lb_mpi_rank() == 0 && (lock = lb_train_lock(o.out, msg, sizeof msg)) < 0) {
        lb_err("%s", msg);
        rc = EX_TEMPFAIL;
        goto done;
    }
    printf("linbench train%s: configuration\n", o.resume ? " (resumed)" : "");
    lb_train_opts_print(stdout, &o);
    printf("  parameters    %zu (%.1f MB F32; optimizer state twice that)\n", lb_model_param_elems(r.m),
           lb_model_param_elems(r.m) * 4e-6);
    printf("  tokenizer     %s\n", lb_tokenizer_describe(r.tok));
    printf("  train corpus  %zu documents, %zu tokens\n", r.train.n_docs, r.train.n_tokens);
    if (r.have_valid) printf("  valid corpus  %zu documents, %zu tokens\n", r.valid.n_docs, r.valid.n_tokens);
    if (o.resume) printf("  resumed at    step %ld from %s\n", r.st.step, o.resume);
    fflush(stdout);
    if (open_log(&r, &o)) goto done;

    lb_adamw_hp hp = {o.beta1, o.beta2, o.eps};
    long end = o.steps;
    if (o.stop_after > 0 && r.st.step + o.stop_after < end) end = r.st.step + o.stop_after;
    lb_progress pg;
    lb_progress_init(&pg, "train", (double)(end - r.st.step), o.progress);
    long start = r.st.step;
    double t0 = lb_now(), tok0 = tokens_after(&o, r.st.step), el0 = r.st.elapsed;
    double loss_acc = 0, norm_last = 0;
    int loss_n = 0;
    while (r.st.step < end) {
        long step = r.st.step;
        int n = lb_curriculum_n(&o.curr, step, NULL);
        if (set_length(&r, &o, n)) goto done;
        if (lb_loader_next(r.loader, &r.b, msg, sizeof msg)) {
            lb_err("%s: %s", o.train, msg);
            goto done;
        }
        for (int i = 0; i < o.batch; i++) {
            size_t off = (size_t)i * n;
            if (lb_mask_sequence(r.b.ids + off, r.labels + off, r.b.mask + off, n, &r.mc, o.seed,
                                 (uint64_t)step, (uint64_t)i) < 0) {
                lb_err("out of memory");
                goto done;
            }
        }
        size_t elems = lb_model_param_elems(r.m);
        memset(r.grad, 0, elems * sizeof *r.grad);
        lb_mlm_stats s;
        if (lb_train_mpi_step(&r, &o, n, &s, msg, sizeof msg)) { /* MPI: summed over ranks */
            lb_err("step %ld: %s", step, msg);
            goto done;
        }
        double norm = lb_clip_grad(r.grad, elems, o.clip, o.threads);
        if (!isfinite(norm) || !isfinite(s.loss)) {
            lb_err("step %ld: loss %g, gradient norm %g: training diverged (lower --lr?); the last "
                   "checkpoint is intact", step, s.loss, norm);
            goto done;
        }
        double lr = lb_lr_at(step, o.steps, o.warmup, o.lr, o.min_lr, o.decay);
        float *p = lb_model_params(r.m);
        for (int i = 0; i < lb_model_param_count(r.m); i++) {
            const lb_param *t = lb_model_param(r.m, i);
            lb_adamw_update(p + t->offset, r.mom + t->offset, r.vel + t->offset, r.grad + t->offset,
                            t->count, &hp, step + 1, lr, t->decay ? o.wd : 0, o.threads);
        }
        r.st.step = step + 1;
        loss_acc += s.loss;
        loss_n++;
        norm_last = norm;
        lb_progress_add(&pg, 1);
        long done_steps = r.st.step;
        int do_eval = r.have_valid && o.eval_every > 0 && (done_steps % o.eval_every == 0 || done_steps == o.steps);
        int do_log = do_eval || done_steps == end || (o.log_every > 0 && done_steps % o.log_every == 0);
        double vl = NAN, va = NAN, vb = NAN;
        if (do_eval && evaluate(&r, &o, &vl, &va, &vb)) goto done;
        if (do_log) {
            double now = lb_now(), el = el0 + (now - t0);
            double tps = (tokens_after(&o, done_steps) - tok0) / (now - t0 > 0 ? now - t0 : 1e-9);
            char line[512], vbuf[128] = ",,";
            if (do_eval) snprintf(vbuf, sizeof vbuf, "%.6f,%.4f,%.6f", vl, exp(vl), va);
            snprintf(line, sizeof line, "%ld,%.0f,%d,%.6g,%.6f,%.6f,%s,%.1f,%.1f", done_steps,
                     tokens_after(&o, done_steps), n, lr, loss_acc / loss_n, norm_last, vbuf, tps, el);
            if (lb_train_state_log(&r.st, line)) goto done;
            if (r.log) fprintf(r.log, "%s\n", line), fflush(r.log);
            double left = (double)(end - done_steps) * (now - t0) / (double)(done_steps - start);
            if (!o.quiet) {
                lb_progress_done(&pg);
                printf("step %ld/%ld n %d lr %.3g loss %.4f |g| %.3g tok/s %.0f left %ld:%02ld:%02ld",
                       done_steps, o.steps, n, lr, loss_acc / loss_n, norm_last, tps, (long)left / 3600,
                       (long)left / 60 % 60, (long)left % 60);
                if (do_eval) printf(" | val loss %.4f ppl %.2f acc %.3f (unigram %.3f)", vl, exp(vl), va, vb);
                printf("\n");
                fflush(stdout);
            }
            loss_acc = 0;
            loss_n = 0;
        }
        r.st.elapsed = el0 + (lb_now() - t0);
        if (o.ckpt_every > 0 && done_steps % o.ckpt_every == 0 && done_steps != end && checkpoint(&r, &o))
            goto done;
        if (o.stop && *o.stop && r.st.step < end) {
            lb_progress_done(&pg);
            if (checkpoint(&r, &o)) goto done;
            lb_err("interrupted after step %ld; continue with --resume %s/checkpoint-%ld", r.st.step, o.out,
                   r.st.step);
            rc = EX_TEMPFAIL;
            goto done;
        }
    }
    lb_progress_done(&pg);
    if (r.st.step == start)
        printf("nothing to train: the checkpoint is at step %ld of %ld\n", r.st.step, o.steps);
    else if (checkpoint(&r, &o))
        goto done;
    if (o.export_bf16 && export_model(&r, &o.curr, o.export_bf16, o.tokenizer)) goto done;
    rc = EX_OK;
done:
    if (lock >= 0) close(lock);
    if (r.log) fclose(r.log);
    lb_mlm_free(r.ws);
    lb_train_mpi_free(&r);
    lb_batch_free(&r.b);
    free(r.labels);
    lb_loader_free(r.loader);
    lb_free(r.grad);
    lb_free(r.mom);
    lb_free(r.vel);
    lb_model_free(r.m);
    lb_docs_free(&r.train);
    lb_docs_free(&r.valid);
    lb_tokenizer_free(r.tok);
    lb_train_state_free(&r.st);
    (void)argc;
    (void)argv;
    return rc;
}
