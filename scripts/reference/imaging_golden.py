#!/usr/bin/python3
"""Golden values for Osteon's imaging tests, computed with nibabel and pydicom.

Usage: /usr/bin/python3 scripts/reference/imaging_golden.py ../shared/data > test/fixtures/imaging/golden.json

For each NIfTI: shape, dtype as stored (np.asarray(img.dataobj), i.e. nibabel's scaling rules),
the affine converted to LPS (diag(-1,-1,1,1) @ img.affine), spacing = column norms, sum, a few
voxel values, and sha256 of the voxels in Osteon's layout (i fastest = Fortran order, little-endian).
For the DICOM folder: pydicom, slices sorted by ImagePositionPatient along the IOP normal,
HU = pixel * RescaleSlope + RescaleIntercept, same fields.
"""
import glob, hashlib, json, os, sys
import numpy as np
import nibabel as nib
import pydicom

LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def describe(arr, affine_lps):
    arr = np.asarray(arr)
    le = arr.astype(arr.dtype.newbyteorder('<'), copy=False)
    dims = list(arr.shape)  # i, j, k[, channel]
    idx = [[0] * len(dims), [d // 2 for d in dims], [d - 1 for d in dims]]
    flat_max = int(np.argmax(arr.reshape(-1, order='F')))
    idx.append([int(x) for x in np.unravel_index(flat_max, arr.shape, order='F')])
    return {
        'shape': list(arr.shape),
        'dtype': str(arr.dtype.name),
        'affine_lps': [round(float(x), 6) for x in affine_lps[:3, :].reshape(-1)],
        'spacing': [round(float(np.linalg.norm(affine_lps[:3, c])), 6) for c in range(3)],
        'sum': float(arr.sum(dtype=np.float64)),
        'min': float(arr.min()), 'max': float(arr.max()),
        'samples': [{'index': i, 'value': float(arr[tuple(i)])} for i in idx],
        'sha256': hashlib.sha256(np.asfortranarray(le).tobytes(order='F')).hexdigest(),
    }


def nifti(path):
    img = nib.load(path)
    out = describe(np.asarray(img.dataobj), LPS @ img.affine)
    out['axcodes_ras'] = ''.join(nib.aff2axcodes(img.affine))
    return out


def dicom_folder(folder):
    ds = [pydicom.dcmread(f) for f in sorted(glob.glob(os.path.join(folder, '*.dcm')))]
    iop = np.array(ds[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    ds.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=float))))
    pos = [np.array(d.ImagePositionPatient, dtype=float) for d in ds]
    dz = float(np.dot(normal, pos[1] - pos[0])) if len(pos) > 1 else float(ds[0].SliceThickness)
    hu = np.stack([d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in ds])  # [k, row, col]
    vol = np.transpose(hu, (2, 1, 0))  # [i=col, j=row, k]
    if np.all(vol == np.round(vol)) and vol.min() >= -32768 and vol.max() <= 32767:
        vol = vol.astype(np.int16)
    else:
        vol = vol.astype(np.float32)
    ps = [float(x) for x in ds[0].PixelSpacing]  # row spacing, column spacing
    d = np.column_stack([iop[:3], iop[3:], normal])
    aff = np.eye(4)
    aff[:3, :3] = d @ np.diag([ps[1], ps[0], dz])
    aff[:3, 3] = pos[0]
    out = describe(vol, aff)
    out['series_uid'] = str(ds[0].SeriesInstanceUID)
    out['transfer_syntax'] = str(ds[0].file_meta.TransferSyntaxUID)
    return out


def main():
    root = sys.argv[1]
    res = {'generator': 'scripts/reference/imaging_golden.py', 'nibabel': nib.__version__, 'pydicom': pydicom.__version__, 'files': {}}
    for p in sorted(glob.glob(os.path.join(root, '*', '*.nii.gz'))):
        res['files'][os.path.relpath(p, root)] = nifti(p)
    for p in sorted(glob.glob(os.path.join(root, '*', 'dicom'))):
        res['files'][os.path.relpath(p, root)] = dicom_folder(p)
    json.dump(res, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
