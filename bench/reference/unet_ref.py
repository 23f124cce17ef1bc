#!/usr/bin/python3
"""Osteon's PyTorch reference for the U-Net benchmark (bench/unet.ts runs it in the same run).

The model is the one in ../../app/learning/model/unet.ts, written channels-first for PyTorch:
per level two 3x3(x3) 'same' conv + ReLU, 2x2(x2) max-pool between levels, ConvTranspose 2x2
stride 2, skip concat (skip first, as Osteon does), two convs, 1x1 conv to 5 channels. Loss: the
joint head (BCEWithLogits on channel 0 with pos_weight 3 + CrossEntropy on channels 1..4),
Adam lr 1e-3, fp32, torch.set_num_threads(THREADS). Prints one JSON object.

  /usr/bin/python3 unet_ref.py --dims 2 --batch 4 --size 128 --filters 16,32,64,128 --steps 10
"""
import argparse, json, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class UNet(nn.Module):
    def __init__(self, dims, filters, out_ch=5):
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dims', type=int, default=2)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--filters', default='16,32,64,128')
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--device', default='cpu', help="'cpu', or 'cuda' (osteon gpu-check)")
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    filters = [int(f) for f in a.filters.split(',')]
    shape = [a.batch, 1] + [a.size] * a.dims
    model = UNet(a.dims, filters).to(dev)
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

    times = []
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        step()
        sync()
        if i >= a.warmup:
            times.append((time.perf_counter() - t) * 1000)
    inf = []
    with torch.no_grad():
        for i in range(a.warmup + a.steps):
            t = time.perf_counter()
            model(x)
            sync()
            if i >= a.warmup:
                inf.append((time.perf_counter() - t) * 1000)
    print(json.dumps({'torch': torch.__version__, 'device': str(dev), 'params': sum(p.numel() for p in model.parameters()),
                      'train_ms': statistics.median(times), 'train_min': min(times), 'train_max': max(times),
                      'infer_ms': statistics.median(inf), 'infer_min': min(inf), 'infer_max': max(inf), 'n': a.steps}))


if __name__ == '__main__':
    main()
