#!/usr/bin/python3
"""Osteon's PyTorch reference for the U-Net benchmark (bench/unet.ts runs it in the same run).

The model is the one in ../../app/learning/model/unet.ts, written channels-first for PyTorch:
per level two 3x3(x3) 'same' conv + ReLU, 2x2(x2) max-pool between levels, ConvTranspose 2x2
stride 2, skip concat (skip first, as Osteon does), two convs, 1x1 conv to 5 channels. Loss: the
joint head (BCEWithLogits on channel 0 with pos_weight 3 + CrossEntropy on channels 1..4),
Adam lr 1e-3, fp32, torch.set_num_threads(THREADS). Prints one JSON object.

  /usr/bin/python3 unet_ref.py --dims 2 --batch 4 --size 128 --filters 16,32,64,128 --steps 10

A fair reference (docs/cpu-speed.md, "Fair references"):
- OpenBLAS runs on one thread (OPENBLAS_NUM_THREADS=1, set before torch is imported; the bench
  also sets it in the child's environment). Debian's torch links OpenBLAS, whose own threads
  otherwise spin beside PyTorch's on the same cores (2D steps of 57-305 ms instead of 54-69).
- --threads N: the thread count Osteon uses (the bench passes it).
- --mkldnn: every forward convolution through torch.mkldnn_convolution (oneDNN). PyTorch 1.13
  sends a batch-1 3D convolution to slow_conv3d (im2col) unless N*C*D*H > 20480, i.e. most of a
  64^3 U-Net's; channels_last_3d does not change that and torch.utils.mkldnn.to_mkldnn cannot run
  ConvTranspose3d or training. The JSON's `routes` counts the conv kernels one training step ran.
- --serve: build and warm up once, then answer lines on stdin, "train N" / "infer N" -> one JSON
  line {times: [ms...], cpu_s, wall_s} (process CPU time and wall time of those N steps), so the
  bench interleaves rounds of Osteon and PyTorch in one run. "quit" ends it.
"""
import os
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import argparse, json, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class MkConv2d(nn.Conv2d):
    """nn.Conv2d whose forward always runs oneDNN (its backward: convolution_backward)."""
    def forward(self, x):
        return torch.mkldnn_convolution(x, self.weight, self.bias, self.padding, self.stride, self.dilation, self.groups)


class MkConv3d(nn.Conv3d):
    def forward(self, x):
        return torch.mkldnn_convolution(x, self.weight, self.bias, self.padding, self.stride, self.dilation, self.groups)


class UNet(nn.Module):
    def __init__(self, dims, filters, out_ch=5, mkldnn=False):
        super().__init__()
        conv = (MkConv2d if mkldnn else nn.Conv2d) if dims == 2 else (MkConv3d if mkldnn else nn.Conv3d)
        up = nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d
        self.pool = (nn.MaxPool2d if dims == 2 else nn.MaxPool3d)(2)
        block = lambda cin, cout: nn.Sequential(conv(cin, cout, 3, padding=1), nn.ReLU(), conv(cout, cout, 3, padding=1), nn.ReLU())
        self.enc = nn.ModuleList()
        c = 1
        for f in filters:
            self.enc.append(block(c, f))
            c = f
        self.ups, self.decs = nn.ModuleList(), nn.ModuleList()
        for f in reversed(filters[:-1]):
            self.ups.append(up(c, f, 2, stride=2))
            self.decs.append(block(2 * f, f))
            c = f
        self.head = conv(c, out_ch, 1)

    def forward(self, x):
        skips = []
        for i, b in enumerate(self.enc):
            if i:
                x = self.pool(x)
            x = b(x)
            skips.append(x)
        skips.pop()
        for u, b in zip(self.ups, self.decs):
            x = b(torch.cat([skips.pop(), u(x)], 1))
        return self.head(x)


def routes(step):
    """Conv kernels one call of step() runs, by ATen name (which path PyTorch picked)."""
    with torch.autograd.profiler.profile() as p:
        step()
    out = {}
    for e in p.function_events:
        if any(k in e.name for k in ('slow_conv', 'mkldnn_conv', 'thnn_conv', 'conv_depthwise')) and 'backward' not in e.name:
            out[e.name] = out.get(e.name, 0) + 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dims', type=int, default=2)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--filters', default='16,32,64,128')
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--mkldnn', action='store_true', help='force oneDNN for every forward convolution')
    ap.add_argument('--serve', action='store_true', help='answer "train N" / "infer N" lines on stdin')
    ap.add_argument('--device', default='cpu', help="'cpu', or 'cuda' (osteon gpu-check)")
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    filters = [int(f) for f in a.filters.split(',')]
    shape = [a.batch, 1] + [a.size] * a.dims
    model = UNet(a.dims, filters, mkldnn=a.mkldnn).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(shape).to(dev)
    labels = torch.randint(0, 4, [a.batch] + [a.size] * a.dims).to(dev)
    whole = (labels > 0).float()
    pw = torch.tensor(3.0).to(dev)

    def step():
        opt.zero_grad()
        y = model(x)
        loss = F.binary_cross_entropy_with_logits(y[:, 0], whole, pos_weight=pw) + F.cross_entropy(y[:, 1:5], labels)
        loss.backward()
        opt.step()

    def infer():
        with torch.no_grad():
            model(x)

    info = {'torch': torch.__version__, 'device': str(dev), 'params': sum(p.numel() for p in model.parameters()),
            'threads': torch.get_num_threads(), 'openblas_threads': os.environ.get('OPENBLAS_NUM_THREADS'), 'mkldnn': a.mkldnn}
    if a.serve:
        for _ in range(a.warmup):
            step()
            infer()
        info['routes'] = routes(step)
        print(json.dumps(info), flush=True)
        for line in sys.stdin:
            parts = line.split()
            if not parts or parts[0] == 'quit':
                break
            fn = step if parts[0] == 'train' else infer
            n = int(parts[1]) if len(parts) > 1 else 1
            times = []
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                t = time.perf_counter()
                fn()
                sync()
                times.append((time.perf_counter() - t) * 1000)
            print(json.dumps({'times': times, 'cpu_s': time.process_time() - c0, 'wall_s': time.perf_counter() - w0}), flush=True)
        return

    times = []
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        step()
        sync()
        if i >= a.warmup:
            times.append((time.perf_counter() - t) * 1000)
    inf = []
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        infer()
        sync()
        if i >= a.warmup:
            inf.append((time.perf_counter() - t) * 1000)
    print(json.dumps({**info, 'train_ms': statistics.median(times), 'train_min': min(times), 'train_max': max(times),
                      'infer_ms': statistics.median(inf), 'infer_min': min(inf), 'infer_max': max(inf), 'n': a.steps}))


if __name__ == '__main__':
    main()
