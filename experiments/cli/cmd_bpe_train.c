/* `linbench bpe-train`: train a GPT-2 byte-level BPE tokenizer on text files and
 * write vocab.json + merges.txt in RoBERTa's layout (lb_bpe_train.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "lb_bpe_train.h"
#include "lb_cmd.h"
#include "lb_outset.h"
#include "lb_util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: linbench bpe-train --vocab-size N --out DIR [--min-frequency F]\n"
            "                          [--max-bytes B] FILE...\n"
            "Train a GPT-2 byte-level BPE vocabulary on the text FILEs and write DIR/vocab.json\n"
            "and DIR/merges.txt (ids <s>=0 <pad>=1 </s>=2 <unk>=3, 256 bytes, merges, <mask> last).\n"
            "  --vocab-size N     total vocabulary, %d..%d (required)\n"
            "  --out DIR          output folder, created if missing (required)\n"
            "  --min-frequency F  stop when the best pair occurs fewer than F times (default 2)\n"
            "  --max-bytes B      read at most B bytes in all (cut at a line end; 1k = 1024,\n"
            "                     default: everything)\n"
            "Most frequent pair first; ties go to the smallest (left, right) pair of token\n"
            "strings in byte order. Same input, same files.\n",
            LB_BPE_MIN_VOCAB, LB_BPE_MAX_VOCAB);
}

/* Read up to max bytes of path into *buf (malloc'd); when cut short, the text ends
 * after its last newline so that no line or character is split. 0, or an exit code. */
static int read_text(const char *path, size_t max, char **buf, size_t *len, int *cut) {
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    *cut = 0;
    if (!f) {
        lb_err("%s: cannot open: %s", path, strerror(errno));
        return EX_NOINPUT;
    }
    size_t cap = 0, n = 0;
    char *b = NULL;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(b, nc);
            if (!nb) {
                free(b);
                fclose(f);
                lb_err("%s: out of memory after %zu bytes", path, n);
                return EX_OSERR;
            }
            b = nb;
            cap = nc;
        }
        size_t want = cap - n < max - n ? cap - n : max - n;
        size_t got = want ? fread(b + n, 1, want, f) : 0;
        n += got;
        if (n == max) {
            *cut = fgetc(f) != EOF;
            break;
        }
        if (got < want) break;
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        free(b);
        lb_err("%s: read error: %s", path, strerror(err));
        return EX_IOERR;
    }
    if (*cut)
        while (n > 0 && b[n - 1] != '\n') n--;
    *buf = b;
    *len = n;
    return 0;
}

/* The command line: trainer options, the output folder and the input files. */
typedef struct {
    lb_bpe_train_opts o;
    const char *out;
    long max_bytes; /* 0: everything */
    char **files;
    int n_files;
} bpe_args;

/* argv into a. Returns -1 to go on, or the exit status (help: 0; a bad option: 64). */
static int parse(bpe_args *a, int argc, char **argv) {
    static const struct option opts[] = {
        {"vocab-size", required_argument, 0, 'v'}, {"out", required_argument, 0, 'o'},
        {"min-frequency", required_argument, 0, 'f'}, {"max-bytes", required_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    lb_bpe_train_opts_default(&a->o);
    a->o.vocab_size = -1;
    int c, bad = 0;
    optind = 1;
    while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'v': bad = lb_parse_long(optarg, &a->o.vocab_size, LB_BPE_MIN_VOCAB, LB_BPE_MAX_VOCAB, "--vocab-size"); break;
        case 'o': a->out = optarg; break;
        case 'f': bad = lb_parse_long(optarg, &a->o.min_frequency, 1, 1L << 40, "--min-frequency"); break;
        case 'b': bad = lb_parse_long(optarg, &a->max_bytes, 1, 1L << 40, "--max-bytes"); break;
        case 'h': usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (bad) return EX_USAGE;
    a->files = argv + optind;
    a->n_files = argc - optind;
    return -1;
}

static int validate(const bpe_args *a) {
    const char *why = a->o.vocab_size < 0 ? "--vocab-size is required"
                      : !a->out || !*a->out ? "--out is required"
                      : a->n_files < 1      ? "no input FILE given"
                                            : NULL;
    if (!why) return EX_OK;
    lb_err("bpe-train: %s", why);
    usage(stderr);
    return EX_USAGE;
}

/* Read the files into the trainer, at most --max-bytes in all. */
static int count(lb_bpe_trainer *t, const bpe_args *a) {
    char msg[512];
    size_t left = a->max_bytes > 0 ? (size_t)a->max_bytes : SIZE_MAX;
    for (int i = 0; i < a->n_files; i++) {
        char *text;
        size_t len;
        int cut = 0, rc;
        if (left == 0) {
            fprintf(stderr, "bpe-train: --max-bytes reached; %s and later files skipped\n", a->files[i]);
            break;
        }
        if ((rc = read_text(a->files[i], left, &text, &len, &cut))) return rc;
        if (cut) fprintf(stderr, "bpe-train: %s: cut at %zu bytes (--max-bytes)\n", a->files[i], len);
        rc = lb_bpe_trainer_add(t, text, len, msg, sizeof msg);
        free(text);
        if (rc) return lb_err("%s: %s", a->files[i], msg), EX_OSERR;
        left = cut ? 0 : left - len;
    }
    return EX_OK;
}

static void print_summary(const lb_bpe_trainer *t, const bpe_args *a, double t_count, double t_merge) {
    lb_bpe_stats s;
    lb_bpe_trainer_stats(t, &s);
    printf("bpe-train: %llu bytes, %llu pre-tokens, %llu distinct; %ld merges (last count %ld), "
           "vocab %ld; read+count %.2f s, merges %.2f s; wrote %s/vocab.json, %s/merges.txt\n",
           (unsigned long long)s.bytes, (unsigned long long)s.pretokens, (unsigned long long)s.words, s.merges,
           s.last_count, s.vocab, t_count, t_merge, a->out, a->out);
    if (s.vocab < a->o.vocab_size)
        fprintf(stderr, "bpe-train: warning: vocabulary %ld < --vocab-size %ld (no pair left with count >= %ld)\n",
                s.vocab, a->o.vocab_size, a->o.min_frequency);
}

/* Count, merge, write. */
static int run(const bpe_args *a) {
    char msg[512];
    lb_bpe_trainer *t;
    if (lb_bpe_trainer_init(&t, msg, sizeof msg)) return lb_err("bpe-train: %s", msg), EX_OSERR;
    double t0 = lb_now();
    int rc = count(t, a);
    double t1 = lb_now();
    if (!rc && lb_bpe_trainer_run(t, &a->o, msg, sizeof msg)) {
        lb_err("bpe-train: %s", msg);
        rc = strncmp(msg, "out of memory", 13) ? EX_DATAERR : EX_OSERR;
    }
    double t2 = lb_now();
    if (!rc && lb_bpe_trainer_write(t, a->out, msg, sizeof msg)) rc = (lb_err("bpe-train: %s", msg), EX_CANTCREAT);
    if (!rc) print_summary(t, a, t1 - t0, t2 - t1);
    lb_bpe_trainer_free(t);
    return rc;
}

int lb_cmd_bpe_train(int argc, char **argv) {
    bpe_args a;
    int rc = parse(&a, argc, argv);
    if (rc >= 0) return rc;
    if ((rc = validate(&a)) != EX_OK) return rc;
    lb_outset_catch_signals(); /* an interrupt leaves an earlier vocab.json/merges.txt as it was */
    return run(&a);
}
