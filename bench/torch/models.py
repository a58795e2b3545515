"""PyTorch reference of reinmax's training steps, for the side-by-side benchmark (bench/torch/side_by_side.ts).

Written from docs/math.md: the estimators of §2 (ReinMax, ST, STGS and GR-MCK), the polynomial task of §6.1,
the categorical VAE of §6.2 and the Bernoulli VAE of §6.3, with torch.optim's Adam and RAdam (§5). Each is
written the way a PyTorch user would write it for speed: ReinMax's closed-form backward in an
autograd.Function (as the reference `reinmax` package does), the others through autograd, sampling by the
inverse CDF (faster here than torch.multinomial), gradients set to None between steps.

Every task can also take reinmax's initial parameters, a batch and the drawn categories (and, for GR-MCK,
the exponentials behind the Gumbel draws), so that the side-by-side harness can check that both sides compute
the same first step before it times them.
"""
import math

import torch
import torch.nn.functional as F


def row_sum(x):
    """Σ over the last dimension, keeping it. PyTorch's CPU reductions are slow over a last dimension of a few
    entries (a two-category row costs as much as a long one), so short rows are added column by column."""
    if x.shape[-1] > 4:
        return x.sum(-1, keepdim=True)
    columns = x.unbind(-1)
    total = columns[0]
    for column in columns[1:]:
        total = total + column
    return total.unsqueeze(-1)


def softmax(x):
    """softmax over the last dimension; for short rows faster than Tensor.softmax (see row_sum)."""
    if x.shape[-1] > 4:
        return x.softmax(-1)
    e = (x - x.max(-1, keepdim=True).values).exp()
    return e / row_sum(e)


def sample_categorical(probs, batch=()):
    """s ~ Cat(probs) for every row, and for each of the leading `batch` shape, by the inverse CDF: the first k
    with u < cdf_k (docs/math.md §3.4)."""
    u = torch.rand(batch + probs.shape[:-1] + (1,))
    return row_sum((probs.cumsum(-1) <= u).to(torch.int64)).squeeze(-1).clamp_(max=probs.shape[-1] - 1)


def one_hot(sample, n):
    return torch.zeros(sample.shape + (n,)).scatter_(-1, sample.unsqueeze(-1), 1.0)


# Every estimator takes logits (…, n) and a leading `batch` shape of samples drawn from them, and returns the
# hard sample (batch, …, n). The poly task passes θ itself with batch (B,), so that the softmaxes are taken
# once on θ and broadcast, as a PyTorch user would write it, rather than on B tiled copies.


class _ReinMax(torch.autograd.Function):
    """y_hard = D; backward 2·J(π₁)g − ½·J(π)g with π₁ = ½(softmax(θ/τ) + D) (docs/math.md §2.1)."""

    @staticmethod
    def forward(ctx, logits, tau, forced, batch):
        pi = softmax(logits)
        sample = forced if forced is not None else sample_categorical(pi, batch)
        hard = one_hot(sample, logits.shape[-1])
        ctx.save_for_backward(logits, pi, hard)
        ctx.tau, ctx.batch = tau, len(batch)
        return hard

    @staticmethod
    def backward(ctx, g):
        logits, pi, hard = ctx.saved_tensors
        pi1 = 0.5 * (softmax(logits / ctx.tau) + hard)
        t1 = 2 * pi1 * (g - row_sum(pi1 * g))
        q = -0.5 * g
        t0 = pi * (q - row_sum(pi * q))
        grad = t1 + t0
        return (grad.sum(tuple(range(ctx.batch))) if ctx.batch else grad), None, None, None


def reinmax(logits, tau, k, forced=None, exponentials=None, batch=()):
    return _ReinMax.apply(logits, tau, forced, tuple(batch))


def st(logits, tau, k, forced=None, exponentials=None, batch=()):
    """Straight-through: D + softmax(θ/τ) − sg(softmax(θ/τ)) (docs/math.md §2.2)."""
    with torch.no_grad():
        sample = forced if forced is not None else sample_categorical(softmax(logits), batch)
    soft = softmax(logits / tau)
    return one_hot(sample, logits.shape[-1]) + (soft - soft.detach())


def grmck(logits, tau, k, forced=None, exponentials=None, batch=()):
    """Gumbel-Rao: K Gumbel vectors drawn given the sample, the mean of softmax((θ + G)/τ) as the surrogate
    (docs/math.md §2.5; K = 1 is STGS, §2.3). `exponentials` (K, batch, …, n) replaces the Exp(1) draws."""
    with torch.no_grad():
        d = logits - logits.max(-1, keepdim=True).values
        sample = forced if forced is not None else sample_categorical(softmax(d), batch)
        log_z = row_sum(d.exp()).log()
        shape = (k,) + tuple(batch) + logits.shape
        e = exponentials if exponentials is not None else torch.empty(shape).exponential_()
        index = sample.unsqueeze(-1).expand((k,) + sample.shape + (1,))
        e_s = e.gather(-1, index)
        perturbed = -torch.log(e * torch.exp(-d) + e_s * torch.exp(-log_z))
        perturbed.scatter_(-1, index, log_z - torch.log(e_s))
        gumbel = perturbed - d
    soft = softmax((logits + gumbel) / tau).mean(0)
    return one_hot(sample, logits.shape[-1]) + (soft - soft.detach())


ESTIMATORS = {"reinmax": reinmax, "st": st, "stgs": grmck, "grmck": grmck}


def optimizer(name, params, lr):
    return (torch.optim.Adam if name == "adam" else torch.optim.RAdam)(params, lr=lr)


def mlp(widths, activation):
    """Linear layers with `activation` after every hidden one (docs/math.md §6.2, §6.3)."""
    layers = []
    for i in range(1, len(widths)):
        layers.append(torch.nn.Linear(widths[i - 1], widths[i]))
        if i < len(widths) - 1:
            layers.append(activation())
    return torch.nn.Sequential(*layers)


def layout(prefix, net):
    """(reinmax label, tensor, transposed) of an MLP's parameters: reinmax stores W as in × out."""
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for i, layer in enumerate(linears, 1):
        yield f"{prefix}.fc{i}.weight", layer.weight, True
        yield f"{prefix}.fc{i}.bias", layer.bias, False


class Task:
    """A model, its optimiser and one batch; `step()` is one training step."""

    def parameters_by_label(self):
        return list(self.layout())

    def load(self, tensors):
        with torch.no_grad():
            for label, tensor, transposed in self.layout():
                value = torch.from_numpy(tensors[label]).view(
                    tensor.shape[::-1] if transposed else tensor.shape
                )
                tensor.copy_(value.t() if transposed else value)

    def export(self, of_grad):
        out = {}
        for label, tensor, transposed in self.layout():
            t = tensor.grad if of_grad else tensor.detach()
            out[label] = (t.t() if transposed else t).contiguous().numpy()
        return out

    def step(self, forced=None, exponentials=None):
        self.opt.zero_grad(set_to_none=True)
        terms = self.loss(forced, exponentials)
        sum(terms).backward()
        self.opt.step()
        return [t.item() for t in terms]


class Poly(Task):
    """docs/math.md §6.1: L binary variables, loss (1/L)·Σ|X_i − c_i|^p with X_i = D_i[0], Adam 1e-3."""

    def __init__(self, estimator, tau, k, batch, latents=128, p=2.0, **_):
        self.estimate, self.tau, self.k, self.batch, self.p = ESTIMATORS[estimator], tau, k, batch, p
        self.theta = torch.nn.Parameter(torch.empty(latents, 2).uniform_(-0.01, 0.01))
        self.c = torch.full((latents,), 0.45)
        self.opt = optimizer("adam", [self.theta], 1e-3)

    def layout(self):
        yield "theta", self.theta, False

    def loss(self, forced, exponentials):
        hard = self.estimate(self.theta, self.tau, self.k, forced, exponentials, batch=(self.batch,))
        return [(hard[..., 0] - self.c).abs().pow(self.p).mean()]


CATEGORICAL = {"10x30": (10, 30, "radam", 5e-4), "8x4": (8, 4, "adam", 5e-4)}


class CategoricalVae(Task):
    """docs/math.md §6.2: 784 → 512 → 256 → L·C, one sample per latent, L·C → 256 → 512 → 784, ReLU."""

    def __init__(self, estimator, tau, k, batch, config="10x30", **_):
        self.categories, self.latents, opt, lr = CATEGORICAL[config]
        code = self.categories * self.latents
        self.estimate, self.tau, self.k, self.batch = ESTIMATORS[estimator], tau, k, batch
        self.encoder = mlp([784, 512, 256, code], torch.nn.ReLU)
        self.decoder = mlp([code, 256, 512, 784], torch.nn.ReLU)
        self.opt = optimizer(opt, [*self.encoder.parameters(), *self.decoder.parameters()], lr)
        self.images = synthetic_images(batch)

    def layout(self):
        yield from layout("encoder", self.encoder)
        yield from layout("decoder", self.decoder)

    def loss(self, forced, exponentials):
        x, b = self.images, self.batch
        logits = self.encoder(x).view(b, self.latents, self.categories)
        hard = self.estimate(logits, self.tau, self.k, forced, exponentials)
        z = self.decoder(hard.view(b, -1))
        reconstruction = F.binary_cross_entropy_with_logits(z, x, reduction="sum") / b
        log_q = logits.log_softmax(-1)
        kl = (log_q.exp() * log_q).sum() / b + self.latents * math.log(self.categories)
        return [reconstruction, kl]


class BernoulliVae(Task):
    """docs/math.md §6.3: 200 binary latents as pairs (a, 1 − a), 784 → 200 → 200 → 200 and back, LeakyReLU
    0.3, a learned Bernoulli prior, dynamic binarisation, RAdam 3e-4."""

    def __init__(self, estimator, tau, k, batch, binarize=True, **_):
        self.estimate, self.tau, self.k, self.batch, self.binarize = (
            ESTIMATORS[estimator], tau, k, batch, binarize
        )
        leaky = lambda: torch.nn.LeakyReLU(0.3)
        self.encoder = mlp([784, 200, 200, 200], leaky)
        self.decoder = mlp([200, 200, 200, 784], leaky)
        self.prior = torch.nn.Parameter(torch.zeros(200))
        params = [*self.encoder.parameters(), self.prior, *self.decoder.parameters()]
        self.opt = optimizer("radam", params, 3e-4)
        self.images = synthetic_images(batch)

    def layout(self):
        yield from layout("encoder", self.encoder)
        yield "prior.logits", self.prior, False
        yield from layout("decoder", self.decoder)

    def loss(self, forced, exponentials):
        x, b = self.images, self.batch
        if self.binarize:
            x = (torch.rand_like(x) < x).float()
        a = self.encoder(x)
        hard = self.estimate(torch.stack((a, 1 - a), -1), self.tau, self.k, forced, exponentials)
        out = self.decoder(hard[..., 0])
        reconstruction = F.binary_cross_entropy_with_logits(out, x, reduction="sum") / b
        z, rho = 2 * a - 1, self.prior
        q = torch.sigmoid(z)
        kl = q * (F.logsigmoid(z) - F.logsigmoid(rho)) + (1 - q) * (F.logsigmoid(-z) - F.logsigmoid(-rho))
        return [reconstruction, kl.sum() / b]


TASKS = {"poly": Poly, "categorical": CategoricalVae, "bernoulli": BernoulliVae}


def synthetic_images(batch):
    """The benchmark's images, the same formula as bench/torch/side_by_side.ts: ((i·7919) mod 256)/255."""
    i = torch.arange(batch * 784, dtype=torch.int64)
    return ((i * 7919) % 256).float().div_(255).view(batch, 784)
