/* Dynamic MLM masking (RoBERTa): a fresh mask for every (step, sequence), drawn from
 * an RNG seeded by those numbers alone, so a resumed run masks exactly as an
 * uninterrupted one would. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_train.h"
#include "lb_util.h"

int lb_mask_cfg_init(lb_mask_cfg *cfg, const lb_tokenizer *t, char *msg, size_t msglen) {
    memset(cfg, 0, sizeof *cfg);
    cfg->prob = 0.15;
    cfg->vocab = lb_tokenizer_vocab_size(t);
    static const char *names[] = {"<s>", "</s>", "<pad>", "<unk>", "<mask>",
                                  "[CLS]", "[SEP]", "[PAD]"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int id = lb_tokenizer_token_id(t, names[i]);
        if (id >= 0 && cfg->n_special < 8) cfg->special[cfg->n_special++] = id;
    }
    int mid = lb_tokenizer_token_id(t, "<mask>");
    if (mid < 0) mid = lb_tokenizer_token_id(t, "[MASK]");
    if (mid < 0) {
        if (msg && msglen)
            snprintf(msg, msglen, "tokenizer %s has no <mask> token (needed for masked-LM training)",
                     lb_tokenizer_describe(t));
        return -1;
    }
    cfg->mask_id = mid;
    if (cfg->vocab - cfg->n_special < 1) {
        if (msg && msglen) snprintf(msg, msglen, "tokenizer has no ordinary tokens");
        return -1;
    }
    return 0;
}

int lb_mask_is_special(const lb_mask_cfg *cfg, int32_t id) {
    for (int i = 0; i < cfg->n_special; i++)
        if (cfg->special[i] == id) return 1;
    return 0;
}

static uint64_t below(lb_rng *r, uint64_t bound) {
    uint64_t lim = UINT64_MAX - UINT64_MAX % bound, x;
    do x = lb_rng_u64(r);
    while (x >= lim);
    return x % bound;
}

int lb_mask_sequence(int32_t *ids, int32_t *labels, const float *mask, int n,
                     const lb_mask_cfg *cfg, uint64_t seed, uint64_t step, uint64_t seq) {
    lb_rng r;
    lb_rng_seed(&r, lb_seed_mix(seed, step, seq));
    /* Candidates are collected into labels temporarily (as positions), then labels
     * is rewritten: no extra buffer. */
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (mask[i] != 0 && !lb_mask_is_special(cfg, ids[i])) labels[m++] = i;
    }
    int want = m ? (int)lround(cfg->prob * m) : 0;
    if (m && want < 1) want = 1;
    for (int j = 0; j < want; j++) { /* partial Fisher–Yates: labels[0..want) chosen */
        int k = j + (int)below(&r, (uint64_t)(m - j));
        int tmp = labels[j];
        labels[j] = labels[k];
        labels[k] = tmp;
    }
    /* Mark chosen positions (in position order for a stable draw sequence). */
    int *chosen = malloc((size_t)(want > 0 ? want : 1) * sizeof *chosen);
    if (!chosen) return -1;
    memcpy(chosen, labels, (size_t)want * sizeof *chosen);
    for (int i = 0; i < n; i++) labels[i] = -100;
    for (int j = 0; j < want; j++) labels[chosen[j]] = ids[chosen[j]];
    free(chosen);
    for (int i = 0; i < n; i++) {
        if (labels[i] == -100) continue;
        double u = lb_rng_uniform(&r);
        if (u < 0.8) {
            ids[i] = cfg->mask_id;
        } else if (u < 0.9) {
            int32_t t;
            do t = (int32_t)below(&r, (uint64_t)cfg->vocab);
            while (lb_mask_is_special(cfg, t));
            ids[i] = t;
        } /* else kept: the model must still predict it */
    }
    return want;
}

int32_t lb_pos_shift_draw(uint64_t seed, uint64_t step, uint64_t seq, int32_t room) {
    if (room <= 0) return 0;
    lb_rng r;
    lb_rng_seed(&r, lb_seed_mix(lb_seed_mix(seed, 0x7368696674ULL /* "shift" */, 0), step, seq));
    return (int32_t)below(&r, (uint64_t)room + 1);
}
