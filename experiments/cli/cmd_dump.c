/* `linbench dump`: attention matrices P of a checkpoint as float32 .npy (inputs as
 * for `linbench spectrum`: analysis/spectrum/spec_input.c).
 *
 * One file of shape (S, L_sel, H_sel, n, n) is streamed into an output set
 * (lb_outset.h): each selected (layer, head) block is appended as the encoder hands it
 * over, so memory holds one sequence's activations whatever S is. Beside it:
 * <stem>_ids.npy (S, n) int32, <stem>_mask.npy (S, n) float32 and <stem>.json
 * (metadata and parameters). The four files appear together or not at all; an
 * interrupt or failure leaves a previous dump under the same name as it was.
 *
 * Under MPI (lb_mpi.h) window s is rank s mod size's, as in `spectrum`. Rank 0 owns the
 * output set; the others open its P temporary by name and write their windows with
 * pwrite at their fixed offsets (header + s x block), so the file is the same byte for
 * byte whatever the rank count. Rank 0 commits only when every rank reported success
 * (lb_mpi_agree); otherwise the temporary goes and the earlier dump stays. Across
 * machines --out must be on a file system every rank sees.
 *
 * parse (options) -> validate (model, input, n, subsets, size, output names)
 * -> open (rank 0: the set and P's header) -> share (the temporary's name)
 * -> run (this rank's forward passes into P) -> finish (agree, sidecars, commit). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_cmd.h"
#include "lb_meta.h"
#include "lb_mpi.h"
#include "lb_npy.h"
#include "lb_outset.h"
#include "lb_progress.h"
#include "lb_spectrum.h"
#include "lb_util.h"

typedef struct {
    lb_spec_input_opts io;
    const char *out, *layers_s, *heads_s;
    long n, S; /* n 0: the ids file's ready length, else min(512, position table) */
    double max_gib;
} dump_opts;

typedef struct {
    lb_spec_input in;
    lb_windows *win;
    int *layers, *heads, nl, nh;
    char *layer_on; /* (L) */
    long S;
    int n, cols; /* cols: n, or k for a Linformer model's P-bar */
    int32_t *ids; /* (S, n) */
    float *mask;  /* (S, n) */
    char *npy, *stem;
    lb_outset *set; /* rank 0 only */
    FILE *fp;       /* the P member of set */
    int fd, own_fd; /* P's temporary: fileno(fp) on rank 0, opened by name (own_fd) elsewhere */
    off_t header;   /* bytes before window 0 */
    size_t block;   /* bytes of one window: nl x nh x n x cols floats */
    double gib, t0, seconds;
} dump_run;

typedef struct {
    int fd;
    off_t off; /* where the next (n, cols) block goes */
    const char *layer_on;
    const int *heads;
    int nh, failed; /* failed: the errno of the write that failed */
} dump_ctx;

/* buf is (len) bytes, all written at off (short writes and EINTR retried). 0, or -1
 * with errno set. */
static int pwrite_all(int fd, const void *buf, size_t len, off_t off) {
    const char *p = buf;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        p += w, len -= (size_t)w, off += w;
    }
    return 0;
}

/* probs is (B = 1, H, n, cols): the selected heads of a selected layer go to c->off on,
 * in the order the encoder hands the layers over (increasing), as one process would. */
static void dump_cb(void *user, int layer, const float *probs, const float *q, const float *k,
                    const float *v, int B, int H, int n, int cols, int d) {
    dump_ctx *c = user;
    if (c->failed || !c->layer_on[layer]) return;
    size_t count = (size_t)n * cols;
    for (int i = 0; i < c->nh; i++) {
        if (pwrite_all(c->fd, probs + (size_t)c->heads[i] * count, count * sizeof(float), c->off)) {
            c->failed = errno ? errno : EIO;
            return;
        }
        c->off += (off_t)(count * sizeof(float));
    }
}

static void dump_usage(FILE *f) {
    fputs("usage: linbench dump --model DIR (--text FILE | --ids FILE) --out FILE.npy|DIR [options]\n"
          "Writes P = softmax(QK^T/sqrt(d)) as float32 (S, layers, heads, n, n) to FILE.npy,\n"
          "with FILE_ids.npy (S, n), FILE_mask.npy (S, n) and FILE.json beside it (a folder\n"
          "DIR gives DIR/P.npy ...). The four appear together or not at all; SIGINT/SIGTERM\n"
          "leave earlier files as they were and exit 130/143. A Linformer-trained model gives\n"
          "its P-bar (S, layers, heads, n, k) instead.\n"
          "  --n N                sequence length (default: the length of ready sequences in\n"
          "                       --ids, else min(512, what the positions allow))\n"
          "  --sequences S        how many windows (default 1)\n"
          "  --layers LIST|all    0-based layer subset (default all)\n"
          "  --heads LIST|all     0-based head subset (default all)\n"
          "  --max-gib G          refuse to write more than G GiB (default 8)\n"
          "Under mpirun window s is rank (s mod ranks)'s; every rank writes its windows into\n"
          "the one P file, which appears only when all succeeded (--out on a shared file\n"
          "system across machines).\n",
          f);
    lb_spec_input_usage(f);
}

/* 0 to go on, -1 after --help, else a sysexits code (error printed). */
static int dump_parse(dump_opts *o, int argc, char **argv) {
    static const char *const flags[] = {"help", "per-line", "quiet", NULL};
    char name[64];
    const char *val;
    int rc;
    *o = (dump_opts){.S = 1, .max_gib = 8};
    lb_spec_input_defaults(&o->io);
    for (int i = 1; i < argc;) {
        if ((rc = lb_spec_next_opt(argc, argv, &i, flags, name, sizeof name, &val))) return rc;
        if (!strcmp(name, "help")) return dump_usage(stdout), -1;
        if (lb_spec_input_opt(&o->io, name, val, &rc)) {
            if (rc) return rc;
        } else if (!strcmp(name, "out")) o->out = val;
        else if (!strcmp(name, "layers")) o->layers_s = val;
        else if (!strcmp(name, "heads")) o->heads_s = val;
        else if (!strcmp(name, "n")) {
            if (lb_parse_long(val, &o->n, 1, 1L << 20, "--n")) return EX_USAGE;
        } else if (!strcmp(name, "sequences")) {
            if (lb_parse_long(val, &o->S, 1, 1L << 30, "--sequences")) return EX_USAGE;
        } else if (!strcmp(name, "max-gib")) {
            if (lb_parse_double(val, &o->max_gib, 0, 1e6, "--max-gib")) return EX_USAGE;
        } else {
            lb_err("dump: unknown option --%s (see linbench dump --help)", name);
            return EX_USAGE;
        }
    }
    return 0;
}

/* --out: FILE.npy, or a folder (DIR/P.npy); the stem names the sidecars. */
static int dump_paths(dump_run *r, const char *out) {
    if (!out || !*out) {
        lb_err("dump: --out FILE.npy (or a folder) is required");
        return EX_USAGE;
    }
    if (!(r->npy = lb_out_path(out, "P.npy"))) return EX_OSERR;
    size_t len = strlen(r->npy);
    if (len < 5 || strcmp(r->npy + len - 4, ".npy") || r->npy[len - 5] == '/') {
        lb_err("dump: --out %s: expected a name ending in .npy, or a folder", out);
        return EX_USAGE;
    }
    if (!(r->stem = strdup(r->npy))) return EX_OSERR;
    r->stem[len - 4] = 0;
    return 0;
}

/* n: given, the ready length of the ids file, or min(512, position table). */
static int dump_resolve_n(dump_run *r, const dump_opts *o) {
    int ready = r->in.docs.ready_n, max_n = r->in.max_n;
    long n = o->n ? o->n : ready > 0 ? ready : (max_n < 512 ? max_n : 512);
    if (n > max_n) {
        lb_err("dump: %s %ld is past the model's position table (at most %d for %s/config.json)",
               o->n ? "--n" : "the ready sequences' length n =", n, max_n, o->io.model_dir);
        return EX_USAGE;
    }
    if (ready > 0 && n != ready) {
        lb_err("dump: --n %ld, but %s holds ready sequences of length %d (leave out --n to use "
               "them)", n, o->io.ids_path, ready);
        return EX_USAGE;
    }
    r->n = (int)n;
    char msg[256]; /* trained-length guard */
    if (lb_mpi_rank() == 0 && lb_trained_beyond(&r->in.trained, r->n, msg, sizeof msg))
        fprintf(stderr, "dump: warning: %s\n", msg);
    return 0;
}

static int dump_validate(dump_run *r, const dump_opts *o) {
    int rc;
    if ((rc = dump_paths(r, o->out))) return rc;
    if ((rc = lb_spec_input_load(&r->in, &o->io))) return rc;
    const lb_config *c = lb_model_config(r->in.model);
    r->layers = calloc((size_t)c->layers, sizeof(int));
    r->heads = calloc((size_t)c->heads, sizeof(int));
    r->layer_on = calloc((size_t)c->layers, 1);
    if (!r->layers || !r->heads || !r->layer_on) return lb_err("dump: out of memory"), EX_OSERR;
    if ((rc = dump_resolve_n(r, o))) return rc;
    r->nl = lb_spec_subset(r->layers, o->layers_s, c->layers, "--layers");
    r->nh = lb_spec_subset(r->heads, o->heads_s, c->heads, "--heads");
    if (r->nl < 0 || r->nh < 0) return EX_USAGE;
    for (int i = 0; i < r->nl; i++) r->layer_on[r->layers[i]] = 1;
    if ((rc = lb_spec_windows(&r->win, &r->in, &o->io, r->n, o->S))) return rc;
    r->S = (long)lb_windows_count(r->win);
    lb_encoder_opts eo = {.method = LB_ATTN_FULL, .threads = r->in.forward_threads};
    r->cols = lb_spec_probs_cols(&eo, &r->in, r->n); /* k for a Linformer model's P-bar */
    r->block = (size_t)r->nl * r->nh * r->n * r->cols * sizeof(float);
    r->gib = (double)r->S * (double)r->block / (1 << 30);
    if (r->gib > o->max_gib) {
        lb_err("dump: %ld x %d x %d x %d x %d floats is %.2f GiB, over --max-gib %g", r->S, r->nl,
               r->nh, r->n, r->cols, r->gib, o->max_gib);
        return EX_USAGE;
    }
    return 0;
}

/* The windows' ids and mask, held whole so that the sidecars match P exactly. */
static int dump_windows(dump_run *r) {
    lb_batch b = {0};
    char msg[256];
    size_t cells = (size_t)r->S * r->n;
    r->ids = malloc(cells * sizeof *r->ids);
    r->mask = malloc(cells * sizeof *r->mask);
    if (!r->ids || !r->mask || lb_batch_init(&b, 1, r->n, msg, sizeof msg))
        return lb_err("dump: out of memory"), EX_OSERR;
    for (long s = 0; s < r->S; s++) {
        lb_windows_fill(&b, r->win, (size_t)s);
        memcpy(r->ids + s * r->n, b.ids, (size_t)r->n * sizeof *r->ids);
        memcpy(r->mask + s * r->n, b.mask, (size_t)r->n * sizeof *r->mask);
    }
    lb_batch_free(&b);
    return 0;
}

/* The set's members, made before the work so a bad destination fails at once. */
static int dump_open(dump_run *r) {
    static const char *const suf[4] = {".npy", "_ids.npy", "_mask.npy", ".json"};
    char msg[1200], path[4200];
    if (!(r->set = lb_outset_new(msg, sizeof msg))) return lb_err("dump: %s", msg), EX_OSERR;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s%s", r->stem, suf[i]);
        FILE *f = lb_outset_add(r->set, path, msg, sizeof msg);
        if (!f) return lb_err("dump: %s", msg), EX_CANTCREAT;
        if (i == 0) r->fp = f;
    }
    int64_t shape[5] = {r->S, r->nl, r->nh, r->n, r->cols};
    size_t count;
    /* flushed: the windows go past it with pwrite, from this process or another */
    if (lb_npy_fwrite_header(r->fp, LB_NPY_F32, 5, shape, &count) || fflush(r->fp) ||
        (r->header = ftello(r->fp)) <= 0)
        return lb_err("dump: %s: cannot write the header: %s", r->npy, strerror(errno)), EX_IOERR;
    r->fd = fileno(r->fp);
    return 0;
}

/* Every rank learns whether all are ready (rc: this rank's status so far); then rank 0
 * hands out P's temporary and the header's length, and the others open it. An
 * agreed failure returns the largest rank's code on every rank (the failing rank
 * printed why). */
static int dump_share(dump_run *r, int rc) {
    struct {
        int64_t header; /* -1: rank 0 could not name its temporary */
        char tmp[4096];
    } sh = {.header = -1};
    char msg[512];
    if ((rc = lb_mpi_agree(rc)) || lb_mpi_size() == 1) return rc;
    const char *tmp = lb_outset_tmp(r->set, 0);
    if (lb_mpi_rank() == 0 && tmp && strlen(tmp) < sizeof sh.tmp) {
        sh.header = r->header;
        strcpy(sh.tmp, tmp);
    }
    if (lb_mpi_bcast(&sh, sizeof sh, msg, sizeof msg)) /* a broken link: no way to agree */
        lb_mpi_abort(EX_SOFTWARE, "dump: %s", msg);
    if (sh.header < 0) {
        if (lb_mpi_rank() == 0)
            lb_err("dump: %s: the temporary's name is too long to hand to the ranks", r->npy);
        return EX_CANTCREAT;
    }
    if (lb_mpi_rank() == 0) return 0;
    r->header = (off_t)sh.header;
    if ((r->fd = open(sh.tmp, O_WRONLY | O_CLOEXEC)) < 0)
        return lb_err("dump: cannot open rank 0's temporary %s: %s (across machines, --out must "
                      "be on a file system every rank sees)", sh.tmp, strerror(errno)), EX_CANTCREAT;
    r->own_fd = 1;
    return 0;
}

/* Tests only: LB_DUMP_TEST_FAIL=S fails window S on the rank that owns it, after that
 * rank wrote its earlier windows (a bad slice found late); -1 when unset. */
static long test_fail_window(void) {
    const char *e = getenv("LB_DUMP_TEST_FAIL");
    return e && *e ? atol(e) : -1;
}

/* This rank's windows (lb_spec_mine), each into its place in P; progress on rank 0. */
static int dump_forward(dump_run *r, const dump_opts *o) {
    lb_encoder *enc = NULL;
    lb_encoder_opts eo = {.method = LB_ATTN_FULL, .threads = r->in.forward_threads};
    lb_spec_probs_cols(&eo, &r->in, r->n); /* a Linformer model runs its own attention */
    char msg[1024];
    int rc = 0;
    long fail_at = test_fail_window(), mine = 0;
    if (lb_encoder_init(&enc, r->in.model, 1, r->n, &eo, 1, msg, sizeof msg))
        return lb_err("dump: %s", msg), EX_SOFTWARE;
    dump_ctx ctx = {.fd = r->fd, .layer_on = r->layer_on, .heads = r->heads, .nh = r->nh};
    for (long s = 0; s < r->S; s++) mine += lb_spec_mine(s);
    lb_progress pg; /* rank 0 has the largest share: its time left is the job's */
    lb_progress_init(&pg, "dump", (double)mine, !o->io.quiet && lb_mpi_rank() == 0);
    for (long s = 0; s < r->S && !rc; s++) {
        if (!lb_spec_mine(s)) continue;
        size_t at = (size_t)s * r->n;
        ctx.off = r->header + (off_t)s * (off_t)r->block;
        if (s == fail_at) {
            lb_err("dump: sequence %ld: failed on purpose (LB_DUMP_TEST_FAIL)", s);
            rc = EX_DATAERR;
        } else if (lb_encoder_forward(enc, NULL, r->ids + at, NULL, r->mask + at, dump_cb, &ctx,
                                      msg, sizeof msg)) {
            lb_err("dump: sequence %ld: %s", s, msg);
            rc = EX_DATAERR;
        } else if (ctx.failed) {
            lb_err("dump: %s: write failed: %s", r->npy, strerror(ctx.failed));
            rc = EX_IOERR;
        }
        lb_progress_add(&pg, 1);
    }
    lb_progress_done(&pg);
    lb_encoder_free(enc);
    return rc;
}

static void dump_json(FILE *f, const dump_run *r, const dump_opts *o, int argc, char **argv) {
    lb_meta m;
    lb_meta_collect(&m);
    fputs("{\n", f);
    lb_meta_write_json(f, &m, argc, argv, 2);
    fprintf(f, ",\n  \"model\": ");
    lb_json_str(f, o->io.model_dir);
    fprintf(f, ",\n  \"input\": ");
    lb_json_str(f, o->io.ids_path ? o->io.ids_path : o->io.text_path);
    fprintf(f, ",\n  \"tokenizer\": ");
    lb_json_str(f, r->in.tok ? lb_tokenizer_describe(r->in.tok) : "none (ids)");
    fprintf(f, ",\n  \"policy\": ");
    lb_json_str(f, lb_windows_describe(r->win));
    fprintf(f, ",\n  \"shape\": [%ld, %d, %d, %d, %d],\n  \"layers\": [", r->S, r->nl, r->nh,
            r->n, r->cols);
    for (int i = 0; i < r->nl; i++) fprintf(f, "%s%d", i ? ", " : "", r->layers[i]);
    fputs("],\n  \"heads\": [", f);
    for (int i = 0; i < r->nh; i++) fprintf(f, "%s%d", i ? ", " : "", r->heads[i]);
    fputs("],\n  \"padding\": \"rows and columns with mask 0 are padding; padded keys have "
          "probability 0\"", f);
    if (r->cols != r->n) /* a Linformer model: P-bar over the k projected keys */
        fprintf(f, ",\n  \"probs\": \"P-bar = softmax(Q (E K)^T / sqrt(d)), (n, k = %d): the "
                "learned projection's attention\"", r->cols);
    fprintf(f, ",\n  \"ranks\": %d\n}\n", lb_mpi_size());
}

static int dump_write(dump_run *r, const dump_opts *o, int argc, char **argv) {
    int64_t shape[2] = {r->S, r->n};
    char msg[1200];
    lb_npy_fwrite(lb_outset_stream(r->set, 1), LB_NPY_I32, 2, shape, r->ids);
    lb_npy_fwrite(lb_outset_stream(r->set, 2), LB_NPY_F32, 2, shape, r->mask);
    dump_json(lb_outset_stream(r->set, 3), r, o, argc, argv);
    struct stat st; /* every window arrived: a rank writing elsewhere would leave a hole */
    off_t want = r->header + (off_t)r->S * (off_t)r->block;
    if (fstat(r->fd, &st))
        return lb_err("dump: %s: %s", r->npy, strerror(errno)), EX_IOERR;
    if (st.st_size != want)
        return lb_err("dump: %s: %lld bytes after every rank's writes, expected %lld",
                      r->npy, (long long)st.st_size, (long long)want), EX_IOERR;
    int rc = lb_outset_commit(r->set, msg, sizeof msg); /* reports any failed write above */
    r->set = NULL;
    if (rc) return lb_err("dump: %s; earlier files under that name are untouched", msg), EX_IOERR;
    printf("wrote %s: (%ld, %d, %d, %d, %d) float32, %.1f MiB; %.0f tokens/s (forward and "
           "writing)\n", r->npy, r->S, r->nl, r->nh, r->n, r->cols, r->gib * 1024,
           (double)r->S * r->n / (r->seconds > 0 ? r->seconds : 1));
    return EX_OK;
}

/* rc: this rank's status. Ranks > 0 complete their writes first (fsync, close: on a
 * network file system rank 0 sees them only then); all agree; rank 0 writes the
 * sidecars and commits only when every rank succeeded, and a last agreement gives
 * every rank the commit's status. */
static int dump_finish(dump_run *r, const dump_opts *o, int rc, int argc, char **argv) {
    if (r->own_fd) {
        if (!rc && fsync(r->fd))
            rc = (lb_err("dump: %s: write failed: %s", r->npy, strerror(errno)), EX_IOERR);
        if (close(r->fd) && !rc)
            rc = (lb_err("dump: %s: write failed: %s", r->npy, strerror(errno)), EX_IOERR);
        r->own_fd = 0;
    }
    rc = lb_mpi_agree(rc);
    r->seconds = lb_now() - r->t0;
    if (lb_mpi_rank() == 0 && !rc) rc = dump_write(r, o, argc, argv);
    return lb_mpi_agree(rc);
}

static void dump_free(dump_run *r) {
    if (r->own_fd) close(r->fd);
    lb_outset_abort(r->set);
    lb_windows_free(r->win);
    free(r->ids), free(r->mask), free(r->layers), free(r->heads), free(r->layer_on);
    free(r->npy), free(r->stem);
    lb_spec_input_free(&r->in);
}

int lb_cmd_dump(int argc, char **argv) {
    dump_opts o;
    dump_run r = {0};
    int rc = dump_parse(&o, argc, argv);
    if (rc) return rc < 0 ? EX_OK : rc;
    lb_outset_catch_signals();
    /* every rank passes both agreements in dump_share and dump_finish, failed or not */
    r.fd = -1;
    if (!(rc = dump_validate(&r, &o)) && !(rc = dump_windows(&r)) && lb_mpi_rank() == 0)
        rc = dump_open(&r);
    r.t0 = lb_now();
    if (!(rc = dump_share(&r, rc))) rc = dump_forward(&r, &o);
    rc = dump_finish(&r, &o, rc, argc, argv);
    dump_free(&r);
    return rc;
}
