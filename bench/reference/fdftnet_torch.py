#!/usr/bin/env python3
"""Issue 9's reference, measured on this machine: the identical networks in PyTorch (CPU).

Only `npm run bench -- reference` runs this (bench/reference.bench.ts), to time fdft and PyTorch
side by side in one run; fdft itself never needs Python. It mirrors fdft's definitions layer for
layer (src/models/backbones/xception.ts, layers/fineTuneTransformer.ts, layers/selfAttention.ts,
layers/mbHead.ts, layers/mbBlockV3.ts, src/models/fdftnet.ts) and prints each model's parameter
counts so the bench can check that the networks are the same size. Weights are random: a step
costs the same whatever their values.

Workloads (the rows of issue 9's table), each at every batch size given:
  finetune  FDFtNet training step: the frozen Xception backbone's forward pass (eval mode, no
            gradient), then the heads (FTT M=3 + MB head N=4 + classifier) forward and backward in
            training mode, and one SGD-momentum step on the heads (L2 1e-5 on their kernels).
  forward   the whole FDFtNet in eval mode, no gradient (inference).
  noftt     as finetune without the FTT (Table 6's ablation).
  pretrain  the Xception classifier (GAP + Dense(2)), every weight trained, SGD momentum (no L2:
            `fdft pretrain`'s default).

Prints one JSON object: the environment, the parameter counts, and per workload and batch the
median of --steps timed runs (ms) after one warm-up run.

Install on Debian/Ubuntu: apt install python3-torch libopenblas0-pthread.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-3  # Keras' BatchNormalization default, as fdft's
BN_MOMENTUM = 0.01  # PyTorch's momentum = 1 − Keras' 0.99


def bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class SeparableConv(nn.Module):
    """Keras SeparableConv2D (depth multiplier 1, 3x3 'same', no bias): depthwise then pointwise."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, stride, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def max_pool(x):
    # 3x3 stride 2 'same': the output sizes of fdft's (29→15, 15→8, 8→4, 4→2).
    return F.max_pool2d(x, 3, 2, padding=1)


class EntryBlock(nn.Module):
    def __init__(self, cin, cout, relu_first):
        super().__init__()
        self.res_conv = nn.Conv2d(cin, cout, 1, 2, bias=False)
        self.res_bn = bn(cout)
        self.relu_first = relu_first
        self.sep1 = SeparableConv(cin, cout)
        self.bn1 = bn(cout)
        self.sep2 = SeparableConv(cout, cout)  # no BN before the pool (the authors' code; fdft's)

    def forward(self, x):
        res = self.res_bn(self.res_conv(x))
        if self.relu_first:
            x = F.relu(x)
        x = F.relu(self.bn1(self.sep1(x)))
        return max_pool(self.sep2(x)) + res


class MiddleBlock(nn.Module):
    def __init__(self, c=728):
        super().__init__()
        self.seps = nn.ModuleList([SeparableConv(c, c) for _ in range(3)])
        self.bns = nn.ModuleList([bn(c) for _ in range(3)])

    def forward(self, x):
        res = x
        for sep, norm in zip(self.seps, self.bns):
            x = norm(sep(F.relu(x)))
        return x + res


class XceptionFeatures(nn.Module):
    """src/models/backbones/xception.ts: 64x64x3 → 2x2x2048."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2, bias=False)
        self.bn1 = bn(32)
        self.conv2 = nn.Conv2d(32, 64, 3, bias=False)
        self.bn2 = bn(64)
        self.entry = nn.ModuleList([EntryBlock(64, 128, False), EntryBlock(128, 256, True), EntryBlock(256, 728, True)])
        self.middle = nn.Sequential(*[MiddleBlock() for _ in range(8)])
        self.exit_res_conv = nn.Conv2d(728, 1024, 1, 2, bias=False)
        self.exit_res_bn = bn(1024)
        self.exit_sep1 = SeparableConv(728, 728)
        self.exit_bn1 = bn(728)
        self.exit_sep2 = SeparableConv(728, 1024)
        self.exit_bn2 = bn(1024)
        self.exit_sep3 = SeparableConv(1024, 1536)
        self.exit_bn3 = bn(1536)
        self.exit_sep4 = SeparableConv(1536, 2048)
        self.exit_bn4 = bn(2048)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        for block in self.entry:
            x = block(x)
        x = self.middle(x)
        res = self.exit_res_bn(self.exit_res_conv(x))
        x = self.exit_bn1(self.exit_sep1(F.relu(x)))
        x = self.exit_bn2(self.exit_sep2(F.relu(x)))
        x = max_pool(x) + res
        x = F.relu(self.exit_bn3(self.exit_sep3(x)))
        return F.relu(self.exit_bn4(self.exit_sep4(x)))


class XceptionClassifier(nn.Module):
    """The baseline classifier (`fdft pretrain`): features, global average pooling, Dense(2)."""

    def __init__(self):
        super().__init__()
        self.features = XceptionFeatures()
        self.dense = nn.Linear(2048, 2)

    def forward(self, x):
        return self.dense(self.features(x).mean((2, 3)))


class SelfAttention(nn.Module):
    """layers/selfAttention.ts (paper eq. 1–3): f, g to C/8 channels, h to C, all 1x1 with bias; γ from 0."""

    def __init__(self, c, reduction=8):
        super().__init__()
        r = max(1, c // reduction)
        self.f = nn.Conv2d(c, r, 1)
        self.g = nn.Conv2d(c, r, 1)
        self.h = nn.Conv2d(c, c, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, hgt, wid = x.shape
        f = self.f(x).flatten(2)  # [B, r, N]
        g = self.g(x).flatten(2)
        h = self.h(x).flatten(2)  # [B, C, N]
        beta = torch.softmax(torch.bmm(g.transpose(1, 2), f), dim=-1)  # β_ji = softmax_i(g_j · f_i)
        o = torch.bmm(h, beta.transpose(1, 2))  # o_j = Σ_i β_ji h_i
        return self.gamma * o.view(b, c, hgt, wid) + x


class FineTuneTransformer(nn.Module):
    """layers/fineTuneTransformer.ts: M stages of [sepconv stride 2, BN, ReLU, attention], 1x1 conv 576, BN, ReLU, GAP."""

    def __init__(self, stages=3, base=32, out=576):
        super().__init__()
        widths = [base * 2**i for i in range(stages)]
        cins = [3] + widths[:-1]
        self.seps = nn.ModuleList([SeparableConv(ci, co, stride=2) for ci, co in zip(cins, widths)])
        self.bns = nn.ModuleList([bn(c) for c in widths])
        self.attentions = nn.ModuleList([SelfAttention(c) for c in widths])
        self.conv = nn.Conv2d(widths[-1], out, 1, bias=False)
        self.bn = bn(out)

    def forward(self, x):
        for sep, norm, att in zip(self.seps, self.bns, self.attentions):
            x = att(F.relu(norm(sep(x))))
        return F.relu(self.bn(self.conv(x))).mean((2, 3))


class MBBlockV3(nn.Module):
    """layers/mbBlockV3.ts: expand, BN, h-swish, depthwise, BN, squeeze-excite on it, h-swish, project, BN, (+ input)."""

    def __init__(self, cin, kernel, stride, expand=576, out=128):
        super().__init__()
        self.expand = nn.Conv2d(cin, expand, 1, bias=False)
        self.expand_bn = bn(expand)
        self.dw = nn.Conv2d(expand, expand, kernel, stride, padding=kernel // 2, groups=expand, bias=False)
        self.dw_bn = bn(expand)
        self.se_reduce = nn.Conv2d(expand, expand // 4, 1, bias=False)
        self.se_expand = nn.Conv2d(expand // 4, expand, 1, bias=False)
        self.project = nn.Conv2d(expand, out, 1, bias=False)
        self.project_bn = bn(out)
        self.residual = stride == 1 and cin == out

    def forward(self, x):
        y = F.hardswish(self.expand_bn(self.expand(x)))
        dw = self.dw_bn(self.dw(y))
        gate = F.hardsigmoid(self.se_expand(F.relu(self.se_reduce(dw.mean((2, 3), keepdim=True)))))
        y = self.project_bn(self.project(F.hardswish(dw * gate)))
        return x + y if self.residual else y


class MBHead(nn.Module):
    """layers/mbHead.ts: N blocks (3x3 stride 2, then 5x5 stride 1), 1x1 conv 576, BN, h-swish, GAP."""

    def __init__(self, cin, blocks=4, width=576, bottleneck=128):
        super().__init__()
        self.blocks = nn.Sequential(*[MBBlockV3(cin if i == 0 else bottleneck, 3 if i == 0 else 5, 2 if i == 0 else 1, width, bottleneck) for i in range(blocks)])
        self.conv = nn.Conv2d(bottleneck, width, 1, bias=False)
        self.bn = bn(width)

    def forward(self, x):
        return F.hardswish(self.bn(self.conv(self.blocks(x)))).mean((2, 3))


class FdftNetHeads(nn.Module):
    """src/models/fdftnet.ts: MB head on the feature map (+ FTT on the image), Dense(2)."""

    def __init__(self, use_ftt=True, stages=3, blocks=4):
        super().__init__()
        self.mb = MBHead(2048, blocks)
        self.ftt = FineTuneTransformer(stages) if use_ftt else None
        self.classifier = nn.Linear(576, 2)

    def forward(self, image, feature_map):
        v = self.mb(feature_map)
        if self.ftt is not None:
            v = v + self.ftt(image)
        return self.classifier(v)


def frozen(module):
    """In inference mode with no trainable weight: FDFtNet's backbone."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def counts(*modules):
    """Trainable parameters, and every weight with BN's moving statistics (as fdft's paramCounts)."""
    params = [p for m in modules for p in m.parameters()]
    stats = [b for m in modules for name, b in m.named_buffers() if name.endswith(("running_mean", "running_var"))]
    return {"trainable": sum(p.numel() for p in params if p.requires_grad), "total": sum(p.numel() for p in params) + sum(b.numel() for b in stats)}


def shapes():
    """The backbone's feature map [C, H, W] and the FTT attentions' position counts, at 64x64."""
    x = torch.zeros(1, 3, 64, 64)
    positions = []
    ftt = FineTuneTransformer().eval()
    hooks = [a.register_forward_hook(lambda _m, inp, _out: positions.append(inp[0].shape[2] * inp[0].shape[3])) for a in ftt.attentions]
    with torch.no_grad():
        fm = XceptionFeatures().eval()(x)
        ftt(x)
    for h in hooks:
        h.remove()
    return {"featureMap": list(fm.shape[1:]), "attentionPositions": positions}


def decayed(module):
    """Conv and dense kernels (fdft's L2 applies to `kernel` weights), not biases, BN or γ."""
    return [m.weight for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def sgd(module, l2):
    kernels = decayed(module)
    ids = {id(p) for p in kernels}
    rest = [p for p in module.parameters() if id(p) not in ids]
    # λ·Σw² in the loss has the gradient 2λw: weight decay 2λ on the kernels.
    return torch.optim.SGD([{"params": kernels, "weight_decay": 2 * l2}, {"params": rest}], lr=0.01, momentum=0.9)


DEVICE = torch.device("cpu")


def synchronize():
    # CUDA runs kernels asynchronously: a step's time is until its last kernel finishes.
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, steps):
    fn()  # warm-up: oneDNN primitives / cuDNN algorithms and buffers
    synchronize()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        synchronize()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def batch(n):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 3, 64, 64, generator=g).to(DEVICE), (torch.arange(n) % 2).to(DEVICE)


def workload(name, n, steps):
    x, y = batch(n)
    if name == "pretrain":
        model = XceptionClassifier().to(DEVICE).train()
        opt = sgd(model, 0)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        return median_ms(step, steps)
    backbone = frozen(XceptionFeatures()).to(DEVICE)
    heads = FdftNetHeads(use_ftt=name != "noftt").to(DEVICE)
    if name == "forward":
        heads.eval()

        def forward():
            with torch.no_grad():
                torch.softmax(heads(x, backbone(x)), dim=-1)

        return median_ms(forward, steps)
    heads.train()
    opt = sgd(heads, 1e-5)

    def step():
        with torch.no_grad():
            fm = backbone(x)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(heads(x, fm), y).backward()
        opt.step()

    return median_ms(step, steps)


def median_ms_safe(name, n, steps):
    try:
        return workload(name, n, steps)
    except RuntimeError as e:  # e.g. out of memory: the bench prints it in place of a figure
        return str(e).splitlines()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", default="32,128")
    ap.add_argument("--workloads", default="finetune,forward,noftt,pretrain")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (default: every core)")
    ap.add_argument("--probe", action="store_true", help="print the environment and parameter counts only")
    ap.add_argument("--device", default="cpu", help="cpu (issue 9's reference) or cuda (to compare fdft's GPU paths)")
    a = ap.parse_args()
    global DEVICE
    DEVICE = torch.device(a.device)
    # cuDNN picks the fastest conv algorithm per shape (what a PyTorch user sets for fixed shapes).
    torch.backends.cudnn.benchmark = DEVICE.type == "cuda"
    torch.set_num_threads(a.threads or os.cpu_count() or 1)
    torch.manual_seed(1)
    config = torch.__config__.show()
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "onednn": torch.backends.mkldnn.is_available(),
        "device": torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "cpu",
        "capability": next((line.split(":", 1)[1].strip() for line in config.splitlines() if "CPU capability" in line), None),
        "counts": {
            "finetune": counts(frozen(XceptionFeatures()), FdftNetHeads(True)),
            "noftt": counts(frozen(XceptionFeatures()), FdftNetHeads(False)),
            "pretrain": counts(XceptionClassifier()),
        },
        "shapes": shapes(),
        "ms": {},
    }
    if not a.probe:
        for name in a.workloads.split(","):
            for n in (int(b) for b in a.batches.split(",")):
                out["ms"].setdefault(name, {})[str(n)] = median_ms_safe(name, n, a.steps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
