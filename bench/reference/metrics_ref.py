#!/usr/bin/python3
"""numpy/scipy reference for `osteon bench --suite metrics`: Dice, HD95 and mean symmetric
surface distance per channel, the same definitions as app/metrics/surface.ts and the project
oracle (test/fixtures/oracle/README.md, seg_metrics):

  surface(M) = M XOR binary_erosion(M, 6-connectivity, border_value=0)
  d_AB       = distance_transform_edt(~surface(B), sampling)[surface(A)]
  hd95       = max(percentile(d_AB, 95), percentile(d_BA, 95))   (numpy linear)
  msd        = mean(concatenate(d_AB, d_BA))

Like the TypeScript code, it works inside the joint bounding box of pred | gt (exact, since every
surface voxel lies in it; binary_erosion's border_value=0 treats the box edge as outside, which
is right because the box holds all of both masks).

Input: a raw uint8 file of nz*ny*nx bytes (x fastest), bit c = pred channel c, bit 4+c = gt
channel c (up to 4 channels). Output: one JSON object on stdout with the per-channel values and
the wall times of each repetition (the masks are unpacked before timing), plus the process CPU
time of all repetitions.

  /usr/bin/python3 metrics_ref.py --input masks.u8 --dims NX NY NZ --spacing SX SY SZ \
      --channels 4 --repeats 3 [--nsd-tol MM]
"""

import argparse
import json
import sys
import time

import numpy as np
import scipy
from scipy import ndimage as ndi


def bbox(m):
    idx = []
    for ax in range(m.ndim):
        other = tuple(a for a in range(m.ndim) if a != ax)
        hit = np.flatnonzero(m.any(axis=other))
        if hit.size == 0:
            return None
        idx.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return tuple(idx)


def surface(m):
    st = ndi.generate_binary_structure(m.ndim, 1)
    return m & ~ndi.binary_erosion(m, structure=st, border_value=0)


def channel_metrics(a, b, sampling, nsd_tol=None):
    na, nb = int(a.sum()), int(b.sum())
    inter = int(np.count_nonzero(a & b))
    dice = float("nan") if na + nb == 0 else 2.0 * inter / (na + nb)
    if na == 0 and nb == 0:
        out = {"dice": dice, "hd95": float("nan"), "msd": float("nan"), "nsd": float("nan")}
    elif na == 0 or nb == 0:
        out = {"dice": dice, "hd95": float("inf"), "msd": float("inf"), "nsd": 0.0}
    else:
        box = bbox(a | b)
        sa, sb = surface(a[box]), surface(b[box])
        dab = ndi.distance_transform_edt(~sb, sampling=sampling)[sa]
        dba = ndi.distance_transform_edt(~sa, sampling=sampling)[sb]
        hd95 = max(float(np.percentile(dab, 95)), float(np.percentile(dba, 95)))
        msd = float(np.concatenate([dab, dba]).mean())
        out = {"dice": dice, "hd95": hd95, "msd": msd}
        if nsd_tol is not None:
            # voxel-count normalized surface Dice (app/metrics/surface.ts): share of surface voxels within tol
            out["nsd"] = float((np.count_nonzero(dab <= nsd_tol) + np.count_nonzero(dba <= nsd_tol)) / (dab.size + dba.size))
    if nsd_tol is None:
        out.pop("nsd", None)
    return out


def enc(v):
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--dims", type=int, nargs=3, required=True, metavar=("NX", "NY", "NZ"))
    ap.add_argument("--spacing", type=float, nargs=3, required=True, metavar=("SX", "SY", "SZ"))
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nsd-tol", type=float, default=None, help="also report normalized surface Dice at this tolerance (mm)")
    args = ap.parse_args()
    nx, ny, nz = args.dims
    packed = np.fromfile(args.input, dtype=np.uint8)
    if packed.size != nx * ny * nz:
        sys.exit("metrics_ref.py: %s has %d bytes, dims need %d" % (args.input, packed.size, nx * ny * nz))
    packed = packed.reshape(nz, ny, nx)  # C order: x fastest
    sampling = (args.spacing[2], args.spacing[1], args.spacing[0])
    pred = [((packed >> c) & 1).astype(bool) for c in range(args.channels)]
    gt = [((packed >> (4 + c)) & 1).astype(bool) for c in range(args.channels)]
    del packed

    dice_times, full_times, result = [], [], None
    cpu0 = time.process_time()
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for c in range(args.channels):
            a, b = pred[c], gt[c]
            na, nb = int(a.sum()), int(b.sum())
            _ = 2.0 * int(np.count_nonzero(a & b)) / max(1, na + nb)
        dice_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = [channel_metrics(pred[c], gt[c], sampling, args.nsd_tol) for c in range(args.channels)]
        full_times.append(time.perf_counter() - t0)
    cpu_s = time.process_time() - cpu0

    out = {
        "reference": "numpy %s, scipy %s (ndimage.distance_transform_edt, binary_erosion)" % (np.__version__, scipy.__version__),
        "dice_times_s": dice_times,
        "full_times_s": full_times,
        "cpu_s": cpu_s,
        "channels": [{k: enc(v) for k, v in r.items()} for r in result],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
