#!/usr/bin/python3
"""Writes small DICOM series with pydicom (edge cases for Osteon's DICOM reader) and golden values.

Usage: /usr/bin/python3 scripts/reference/imaging_dicom_variants.py test/fixtures/imaging/dicom-variants
One folder per case; golden.json holds, per readable case, the fields of imaging_golden.describe
computed by imaging_golden.dicom_folder (pydicom: sorted along the IOP normal, HU = pixel·slope + intercept).
"""
import json, os, shutil, sys
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, JPEG2000Lossless, generate_uid

sys.path.insert(0, os.path.dirname(__file__))
from imaging_golden import dicom_folder  # noqa: E402

out = sys.argv[1]
shutil.rmtree(out, ignore_errors=True)
rng = np.random.default_rng(11)
ROWS, COLS = 5, 6
CT = '1.2.840.10008.5.1.4.1.1.2'


def slice_ds(path, ts, iop, ipp, pixels, series_uid, slope=1, inter=-1024, signed=True, number=1, nested=False):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[path])
    meta.TransferSyntaxUID = ts
    ds = FileDataset(path, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian = ts != ExplicitVRBigEndian
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = 'CT'
    ds.StudyInstanceUID = '1.2.826.0.1.3680043.8.498.1'
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = number
    ds.SeriesDescription = f'series {number}'
    if nested:  # undefined-length sequences, nested, before the pixel data
        inner = Dataset(); inner.CodeValue = 'X'; inner.CodingSchemeDesignator = 'DCM'; inner.CodeMeaning = 'nested'
        item = Dataset(); item.ReferencedSOPClassUID = CT; item.ReferencedSOPInstanceUID = '1.2.3'
        item.PurposeOfReferenceCodeSequence = Sequence([inner]); item['PurposeOfReferenceCodeSequence'].is_undefined_length = True
        inner.is_undefined_length_sequence_item = True
        item.is_undefined_length_sequence_item = True
        ds.ReferencedImageSequence = Sequence([item, item]); ds['ReferencedImageSequence'].is_undefined_length = True
    ds.ImageOrientationPatient = [f'{x:.6f}' for x in iop]
    ds.ImagePositionPatient = [f'{x:.4f}' for x in ipp]
    ds.PixelSpacing = ['0.75', '0.6']
    ds.SliceThickness = '2.0'
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.RescaleSlope = str(slope); ds.RescaleIntercept = str(inter)
    dt = ('>' if ts == ExplicitVRBigEndian else '<') + ('i2' if signed else 'u2')
    ds.PixelData = pixels.astype(dt).tobytes()
    return ds


def series(name, n, iop, ts=ExplicitVRLittleEndian, positions=None, uid=None, number=1, **kw):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    iop = np.array(iop, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    positions = positions if positions is not None else [2.5 * k for k in range(n)]
    uid = uid or generate_uid(entropy_srcs=[name, str(number)])
    order = rng.permutation(len(positions))  # file names do not follow the slice order
    for fi, k in enumerate(order):
        ipp = np.array([-20.0, 15.0, 40.0]) + positions[k] * normal
        lo, hi = (0, 4000) if not kw.get('signed', True) else (-2000, 3000)
        px = rng.integers(lo, hi, size=(ROWS, COLS))
        path = os.path.join(folder, f'{name}-{number}-{fi:02d}.dcm')
        slice_ds(path, ts, iop, ipp, px, uid, number=number, **kw).save_as(path, write_like_original=False)
    return folder


c, s = np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20))
golden = {}
golden['explicit_le_oblique'] = series('explicit_le_oblique', 4, [c, s, 0, -s, c, 0], nested=True)
golden['implicit_le_sagittal'] = series('implicit_le_sagittal', 3, [0, 1, 0, 0, 0, -1], ts=ImplicitVRLittleEndian, nested=True)
golden['explicit_be_uint16'] = series('explicit_be_uint16', 3, [1, 0, 0, 0, 1, 0], ts=ExplicitVRBigEndian, signed=False)
golden['float_rescale'] = series('float_rescale', 3, [1, 0, 0, 0, 1, 0], slope=0.5, inter=-1000.25)
golden['missing_slice'] = series('missing_slice', 5, [1, 0, 0, 0, 1, 0], positions=[0, 1.5, 3, 6, 7.5])
two = series('two_series', 2, [1, 0, 0, 0, 1, 0], number=1, uid='1.2.826.0.1.3680043.8.498.101')
series('two_series', 3, [1, 0, 0, 0, 1, 0], number=2, uid='1.2.826.0.1.3680043.8.498.102')

# A JPEG 2000 file: header says .4.90 and the pixel data is encapsulated (the bytes are not a real codestream).
jf = os.path.join(out, 'jpeg2000'); os.makedirs(jf, exist_ok=True)
ds = slice_ds(os.path.join(jf, 'j2k.dcm'), JPEG2000Lossless, [1, 0, 0, 0, 1, 0], [0, 0, 0], np.zeros((ROWS, COLS)), '1.2.826.0.1.3680043.8.498.200')
from pydicom.encaps import encapsulate
ds.PixelData = encapsulate([b'\xff\x4f\xff\x51' + b'\0' * 30]); ds['PixelData'].is_undefined_length = True; ds['PixelData'].VR = 'OB'
ds.save_as(os.path.join(jf, 'j2k.dcm'), write_like_original=False)

res = {}
for name, folder in golden.items():
    res[name] = dicom_folder(folder)
with open(os.path.join(out, 'golden.json'), 'w') as f:
    json.dump({'generator': 'scripts/reference/imaging_dicom_variants.py', 'pydicom': pydicom.__version__, 'files': res}, f, indent=1)
    f.write('\n')
