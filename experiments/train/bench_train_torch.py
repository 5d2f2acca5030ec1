#!/usr/bin/python3
"""Training throughput of linbench's default model in PyTorch on the CPU, for the
side-by-side of experiments/train/bench_train.sh. A benchmark script only: it needs
Debian's python3-torch, which no test depends on.

The model is the one `linbench train` trains (analysis/model/lb_train_model.h): a RoBERTa
post-LN encoder (word + position + token-type embeddings, LayerNorm; per layer Q/K/V,
softmax attention, output dense, residual, LayerNorm, FFN with exact erf GELU,
residual, LayerNorm) and the MLM head (dense, GELU, LayerNorm, decoder tied to the
word embeddings, bias), no dropout, logits only at the predicted positions as linbench
forms them (--head all: at every position, as HuggingFace does). Random token ids,
15% of positions predicted (80% <mask>, 10% random, 10% kept), AdamW with linbench's
defaults (betas 0.9/0.98, eps 1e-6, weight decay 0.01 on matrices only) and global
gradient-norm clipping at 1.0. Warm-up steps, then timed steps.

Prints one line:  torch n=N batch=B threads=T steps=S tokens_per_s=X median_step_tokens_per_s=Y
where X is B*n*S over the timed steps' total time and Y the median over single steps.
"""
import argparse
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("bench_train_torch.py: PyTorch not found (apt-get install python3-torch)")


class Layer(nn.Module):
    def __init__(self, h, heads, ffn, eps):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1 = nn.LayerNorm(h, eps=eps)
        self.ff1, self.ff2 = nn.Linear(h, ffn), nn.Linear(ffn, h)
        self.ln2 = nn.LayerNorm(h, eps=eps)

    def forward(self, x):
        b, n, h = x.shape
        d = h // self.heads

        def split(t):  # (b, n, h) -> (b, heads, n, d)
            return t.view(b, n, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        a = (p @ v).transpose(1, 2).reshape(b, n, h)
        x = self.ln1(x + self.o(a))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class MLM(nn.Module):
    def __init__(self, vocab, h, layers, heads, ffn, max_pos, eps=1e-5):
        super().__init__()
        self.word = nn.Embedding(vocab, h)
        self.pos = nn.Embedding(max_pos, h)
        self.tt = nn.Embedding(1, h)
        self.ln = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(Layer(h, heads, ffn, eps) for _ in range(layers))
        self.dense = nn.Linear(h, h)
        self.hln = nn.LayerNorm(h, eps=eps)
        self.bias = nn.Parameter(torch.zeros(vocab))
        for m in self.modules():  # linbench's initialisation: N(0, 0.02^2), biases 0
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, ids, labels, head_all):
        b, n = ids.shape
        # RoBERTa positions without padding: pad_id + 1 + index, pad_id = 1
        pos = torch.arange(2, n + 2, device=ids.device).expand(b, n)
        x = self.ln(self.word(ids) + self.pos(pos) + self.tt.weight[0])
        for layer in self.layers:
            x = layer(x)
        if head_all:
            z = self.hln(F.gelu(self.dense(x)))
            logits = z @ self.word.weight.t() + self.bias
            return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
        sel = labels.view(-1) != -100
        z = self.hln(F.gelu(self.dense(x.reshape(b * n, -1)[sel])))
        return F.cross_entropy(z @ self.word.weight.t() + self.bias, labels.view(-1)[sel])


def batch(gen, vocab, b, n, special=5, mask_id=4):
    """Random ids in [special, vocab) and RoBERTa-style dynamic masking of 15%."""
    ids = torch.randint(special, vocab, (b, n), generator=gen)
    labels = torch.full((b, n), -100, dtype=torch.long)
    m = max(1, round(0.15 * n))
    for i in range(b):
        chosen = torch.randperm(n, generator=gen)[:m]
        labels[i, chosen] = ids[i, chosen]
        r = torch.rand(m, generator=gen)
        ids[i, chosen[r < 0.8]] = mask_id
        rnd = chosen[(r >= 0.8) & (r < 0.9)]
        ids[i, rnd] = torch.randint(special, vocab, (len(rnd),), generator=gen)
    return ids, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup-steps", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5, help="timed steps")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--head", choices=["masked", "all"], default="masked")
    a = ap.parse_args()
    for name in ("n", "batch", "layers", "hidden", "heads", "ffn", "vocab", "threads", "steps"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be >= 1, got {getattr(a, name)}")
    if a.hidden % a.heads:
        ap.error(f"--hidden {a.hidden} is not a multiple of --heads {a.heads}")
    if a.vocab <= 5 or a.warmup_steps < 0:
        ap.error("--vocab must exceed the 5 special ids and --warmup-steps be >= 0")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    model = MLM(a.vocab, a.hidden, a.layers, a.heads, a.ffn, a.n + 2)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    times = []
    for step in range(a.warmup_steps + a.steps):
        ids, labels = batch(gen, a.vocab, a.batch, a.n)  # data outside the timing, as linbench's loader
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(ids, labels, a.head == "all")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if not math.isfinite(loss.item()):
            sys.exit(f"bench_train_torch.py: step {step}: loss {loss.item()}")
        if step >= a.warmup_steps:
            times.append(dt)
    tok = a.batch * a.n
    print(f"torch n={a.n} batch={a.batch} threads={a.threads} steps={a.steps} "
          f"tokens_per_s={tok * len(times) / sum(times):.1f} "
          f"median_step_tokens_per_s={tok / statistics.median(times):.1f} loss={loss.item():.4f}")


if __name__ == "__main__":
    main()
