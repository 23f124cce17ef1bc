#!/usr/bin/python3
"""Writes small NIfTI variants with nibabel (edge cases of the header) and their golden values.

Usage: /usr/bin/python3 scripts/reference/imaging_variants.py test/fixtures/imaging/variants
Writes the files and golden.json (same fields as imaging_golden.py) into that folder. For
method-1 files (both codes 0) the golden affine is the NIfTI standard's diag(pixdim), origin 0
(nifti1_io / ITK), not nibabel's centred Analyze affine.
"""
import hashlib, json, os, sys
import numpy as np
import nibabel as nib

sys.path.insert(0, os.path.dirname(__file__))
from imaging_golden import describe, LPS  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
shape = (7, 5, 4)


def rot(axis, deg):
    t = np.deg2rad(deg); c, s = np.cos(t), np.sin(t)
    m = np.eye(3)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def affine(r, zooms, origin):
    a = np.eye(4); a[:3, :3] = r @ np.diag(zooms); a[:3, 3] = origin
    return a


def data(dtype):
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        d = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
        d[0, 0, 0], d[-1, -1, -1] = info.min, info.max
        return d
    return (rng.standard_normal(shape) * 1000).astype(dtype)


golden = {}


def save(name, img, note, patch=None, **kw):
    path = os.path.join(out, name)
    nib.save(img, path)
    if patch:  # raw header edits nibabel would undo on save: (offset, struct format, value)
        import struct
        with open(path, 'r+b') as f:
            for off, fmt, val in patch:
                f.seek(off); f.write(struct.pack(fmt, val))
    back = nib.load(path)
    arr = np.asarray(back.dataobj)
    aff = kw.get('affine_ras', back.affine)
    g = describe(arr, LPS @ aff)
    g['note'] = note
    g['sform_code'] = int(back.header['sform_code']); g['qform_code'] = int(back.header['qform_code'])
    golden[name] = g


oblique = affine(rot(2, 30) @ rot(0, 10), [0.7, 0.8, 2.5], [-20.5, 30.25, 100])
for dt in ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64']:
    img = nib.Nifti1Image(data(np.dtype(dt)), oblique)
    img.set_qform(oblique, 1); img.set_sform(oblique, 1)
    save(f'dtype_{dt}.nii.gz', img, f'{dt}, oblique sform+qform code 1')

be = nib.Nifti1Image(data(np.dtype('int16')), oblique)
be.set_qform(oblique, 1); be.set_sform(oblique, 1)
be_img = nib.Nifti1Image(np.asarray(be.dataobj).astype('>i2'), oblique, header=be.header.as_byteswapped('>'))
save('bigendian_int16.nii', be_img, 'big-endian header and data')

n2 = nib.Nifti2Image(data(np.dtype('float64')), oblique)
n2.set_sform(oblique, 2)
save('nifti2_float64.nii.gz', n2, 'NIfTI-2 (540-byte header), float64, sform code 2')

sc = nib.Nifti1Image(rng.integers(0, 255, size=shape, dtype=np.uint8), oblique)
save('scaled_uint8.nii', sc, 'uint8 with scl_slope 0.5, scl_inter -10 (reads as float)', patch=[(112, '<f', 0.5), (116, '<f', -10.0)])

lh = affine(rot(2, 30), [0.7, 0.8, 2.5], [5, 6, 7]) @ np.diag([1, 1, -1, 1])
q = nib.Nifti1Image(data(np.dtype('int16')), None)
q.set_qform(lh, 1); q.set_sform(None, 0)
save('qform_only_lefthanded.nii.gz', q, 'sform_code 0, qform code 1, left-handed (qfac -1), rotated 30° about z')

pir = np.array([[0, 0, 1.5, -78], [-1.5, 0, 0, -135], [0, -1.5, 0, -34.2], [0, 0, 0, 1]])
sq = nib.Nifti1Image(data(np.dtype('uint8')), None)
sq.set_sform(pir, 2); sq.set_qform(oblique, 1)
save('sform_wins.nii.gz', sq, 'sform code 2 (PIR) and a different qform code 1: sform has precedence')

m1 = nib.Nifti1Image(data(np.dtype('int16')), None)
m1.header.set_zooms((0.7, 0.8, 2.5)); m1.set_qform(None, 0); m1.set_sform(None, 0)
save('method1.nii', m1, 'both codes 0: NIfTI method 1, diag(pixdim), origin 0', affine_ras=np.diag([0.7, 0.8, 2.5, 1]))

four = nib.Nifti1Image(rng.integers(0, 2, size=shape + (3,), dtype=np.uint8), oblique)
save('channels4d_uint8.nii.gz', four, '4D, dim[4]=3 -> channels')

shear = oblique.copy(); shear[:3, 1] += 0.002 * shear[:3, 0]
sh = nib.Nifti1Image(data(np.dtype('int16')), shear)
sh.set_sform(shear, 1); sh.set_qform(None, 0)
save('slight_shear.nii.gz', sh, 'sform with columns 0/1 at |cos| ~2.5e-3: orthonormalised with a warning')

bad = oblique.copy(); bad[:3, 1] += 0.3 * bad[:3, 0]
bs = nib.Nifti1Image(data(np.dtype('int16')), bad)
bs.set_sform(bad, 1); bs.set_qform(None, 0)
save('heavy_shear.nii.gz', bs, 'sform sheared ~15 degrees, no qform: refused as unsupported')

with open(os.path.join(out, 'golden.json'), 'w') as f:
    json.dump({'generator': 'scripts/reference/imaging_variants.py', 'nibabel': nib.__version__, 'files': golden}, f, indent=1)
    f.write('\n')
