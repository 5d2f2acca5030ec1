/* The RoBERTa MLM head and its cross-entropy, at predicted positions only:
 * z = LayerNorm(GELU(x Wdᵀ + bd)), logits = z Wordᵀ + bias (decoder tied to the word
 * embeddings). Logits exist one chunk of rows at a time; the decoder's gradient is
 * taken chunk by chunk while the chunk's logits are still there. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "lb_vexp.h"
#include "model_int.h"

/* Rows of logits: loss and (when grad) dlogits in place, scaled; without grad the rows
 * are left holding exp(l − max). Returns the loss sum; *correct += argmax hits. */
static double ce_rows(float *lg, double *rl, const int32_t *lab, int rows, int V, float scale,
                      int grad, long *correct, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int r = 0; r < rows; r++) {
        float *l = lg + (long)r * V;
        int am = 0;
        for (int j = 1; j < V; j++)
            if (l[j] > l[am]) am = j; /* ties: the lowest id */
        const float mx = l[am], ll = l[lab[r]];
        /* exp through lb_vexp (within 1 ulp of expf, vectorised: expf per logit was
         * 8% of a training step); the sum stays in double, in index order */
        for (int j = 0; j < V; j++) l[j] -= mx;
        lb_vexp_array(l, l, (size_t)V);
        double s = 0;
        for (int j = 0; j < V; j++) s += l[j];
        rl[r] = log(s) - ((double)ll - mx);
        rl[rows + r] = am == lab[r];
        if (grad) {
            const double is = 1.0 / s;
            for (int j = 0; j < V; j++) l[j] = (float)(l[j] * is * scale);
            l[lab[r]] -= scale;
        }
    }
    double loss = 0; /* summed in row order: the same bits whatever the threads */
    for (int r = 0; r < rows; r++) {
        loss += rl[r];
        *correct += rl[rows + r] != 0;
    }
    return loss;
}

double lb_head_forward(lb_head_ws *w, const lb_model *m, float *grad, float scale,
                       const float *X, long *n_correct, int threads) {
    const lb_config *c = &m->c;
    const int h = c->hidden, V = c->vocab_size, P = w->P;
    *n_correct = 0;
    if (P == 0) return 0;
    for (int r = 0; r < P; r++)
        memcpy(w->xp + (long)r * h, X + (long)w->idx[r] * h, sizeof(float) * (size_t)h);
    lb_linear(w->z0, w->xp, m->hd_w, m->hd_b, P, h, h);
    lb_gelu_forward(w->ha, w->z0, (size_t)P * (size_t)h, threads);
    lb_layer_norm_forward(w->z, NULL, w->mean, w->rstd, w->ha, NULL, m->hln_g, m->hln_b, P, h,
                      c->ln_eps, threads);
    double loss = 0;
    float *gword = grad ? grad + (m->word - m->block) : NULL;
    float *gbias = grad ? grad + (m->hbias - m->block) : NULL;
    for (int r0 = 0; r0 < P; r0 += w->chunk) {
        int rows = P - r0 < w->chunk ? P - r0 : w->chunk;
        const float *z = w->z + (long)r0 * h;
        lb_linear(w->logits, z, m->word, m->hbias, rows, h, V);
        loss += ce_rows(w->logits, w->rowloss, w->lab + r0, rows, V, scale, grad != NULL, n_correct, threads);
        if (w->row_out) memcpy(w->row_out + r0, w->rowloss, sizeof(double) * (size_t)rows);
        if (!grad) continue;
        /* dword (V,h) += dLᵀ z; dbias += Σ dL; dz = dL · word */
        lb_linear_backward(w->dz + (long)r0 * h, 0, gword, gbias, w->logits, z, m->word, rows, h, V,
                           threads);
    }
    return loss;
}

void lb_head_backward(float *dX, lb_head_ws *w, const lb_model *m, float *grad, long tokens,
                      int threads) {
    const lb_config *c = &m->c;
    const int h = c->hidden, P = w->P;
    memset(dX, 0, sizeof(float) * (size_t)tokens * (size_t)h);
    if (P == 0) return;
#define G(p) (grad + ((p) - m->block))
    lb_layer_norm_backward(w->dxp, 0, G(m->hln_g), G(m->hln_b), w->dz, w->ha, w->mean, w->rstd,
                           m->hln_g, P, h, threads);
    lb_gelu_backward(w->dxp, w->dxp, w->z0, (size_t)P * (size_t)h, threads);
    lb_linear_backward(w->dz, 0, G(m->hd_w), G(m->hd_b), w->dxp, w->xp, m->hd_w, P, h, h, threads);
#undef G
    for (int r = 0; r < P; r++) /* each token is predicted at most once: no collisions */
        memcpy(dX + (long)w->idx[r] * h, w->dz + (long)r * h, sizeof(float) * (size_t)h);
}
