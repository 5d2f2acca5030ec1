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

int lb_cmd_bpe_train(int argc, char **argv) {
    static const struct option opts[] = {
        {"vocab-size", required_argument, 0, 'v'}, {"out", required_argument, 0, 'o'},
        {"min-frequency", required_argument, 0, 'f'}, {"max-bytes", required_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    lb_bpe_train_opts o;
    lb_bpe_train_opts_default(&o);
    const char *out = NULL;
    long vocab = -1, max_bytes = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            if (lb_parse_long(optarg, &vocab, LB_BPE_MIN_VOCAB, LB_BPE_MAX_VOCAB, "--vocab-size"))
                return EX_USAGE;
            break;
        case 'o': out = optarg; break;
        case 'f':
            if (lb_parse_long(optarg, &o.min_frequency, 1, 1L << 40, "--min-frequency"))
                return EX_USAGE;
            break;
        case 'b':
            if (lb_parse_long(optarg, &max_bytes, 1, 1L << 40, "--max-bytes")) return EX_USAGE;
            break;
        case 'h': usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (vocab < 0 || !out || !*out || optind >= argc) {
        lb_err("bpe-train: %s", vocab < 0 ? "--vocab-size is required"
                                : !out || !*out ? "--out is required"
                                                : "no input FILE given");
        usage(stderr);
        return EX_USAGE;
    }
    o.vocab_size = vocab;
    lb_outset_catch_signals(); /* an interrupt leaves an earlier vocab.json/merges.txt as it was */
    char msg[512];
    lb_bpe_trainer *t;
    if (lb_bpe_trainer_init(&t, msg, sizeof msg)) {
        lb_err("bpe-train: %s", msg);
        return EX_OSERR;
    }
    double t0 = lb_now();
    size_t left = max_bytes > 0 ? (size_t)max_bytes : SIZE_MAX;
    int rc = 0;
    for (int i = optind; i < argc && !rc; i++) {
        char *text;
        size_t len;
        int cut = 0;
        if (left == 0) {
            fprintf(stderr, "bpe-train: --max-bytes reached; %s and later files skipped\n", argv[i]);
            break;
        }
        rc = read_text(argv[i], left, &text, &len, &cut);
        if (rc) break;
        if (cut) fprintf(stderr, "bpe-train: %s: cut at %zu bytes (--max-bytes)\n", argv[i], len);
        if (lb_bpe_trainer_add(t, text, len, msg, sizeof msg)) {
            lb_err("%s: %s", argv[i], msg);
            rc = EX_OSERR;
        }
        left = cut ? 0 : left - len;
        free(text);
    }
    double t1 = lb_now();
    if (!rc && lb_bpe_trainer_run(t, &o, msg, sizeof msg)) {
        lb_err("bpe-train: %s", msg);
        rc = strncmp(msg, "out of memory", 13) ? EX_DATAERR : EX_OSERR;
    }
    double t2 = lb_now();
    if (!rc && lb_bpe_trainer_write(t, out, msg, sizeof msg)) {
        lb_err("bpe-train: %s", msg);
        rc = EX_CANTCREAT;
    }
    if (!rc) {
        lb_bpe_stats s;
        lb_bpe_trainer_stats(t, &s);
        printf("bpe-train: %llu bytes, %llu pre-tokens, %llu distinct; %ld merges (last count %ld), "
               "vocab %ld; read+count %.2f s, merges %.2f s; wrote %s/vocab.json, %s/merges.txt\n",
               (unsigned long long)s.bytes, (unsigned long long)s.pretokens,
               (unsigned long long)s.words, s.merges, s.last_count, s.vocab, t1 - t0, t2 - t1, out,
               out);
        if (s.vocab < vocab)
            fprintf(stderr,
                    "bpe-train: warning: vocabulary %ld < --vocab-size %ld (no pair left with "
                    "count >= %ld)\n",
                    s.vocab, vocab, o.min_frequency);
    }
    lb_bpe_trainer_free(t);
    return rc;
}
