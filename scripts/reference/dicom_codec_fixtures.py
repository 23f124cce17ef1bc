#!/usr/bin/python3
"""Makes test/fixtures/imaging/dicom-codecs/: one small real CT series (a 96x80x3 crop of the dcmqi
3-slice CT, ../shared/data/dcmqi-ct3slice-spine/dicom) in every transfer syntax Osteon reads, each
written by an independent encoder (dcmtk, GDCM, OpenJPH), plus golden.json with pydicom's HU
(apply_modality_lut) of the *reference decode* of each variant:
  lossless variants -> the uncompressed source (the round trip must be exact);
  lossy variants    -> the same file decompressed by dcmtk (dcmdjpeg/dcmdjpls) or GDCM (gdcmconv --raw),
                       stored as reference.i16 (little-endian int16, x fastest) next to the files.
Also a 12-bit-signed variant (BitsStored 12 < BitsAllocated 16, PixelRepresentation 1) and an
enhanced (multi-frame) CT made from the same slices.
Run: /usr/bin/python3 scripts/reference/dicom_codec_fixtures.py ../shared/data/dcmqi-ct3slice-spine/dicom test/fixtures/imaging/dicom-codecs
"""
import copy, hashlib, json, os, shutil, subprocess, sys, tempfile
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid, ExplicitVRLittleEndian

src, out = sys.argv[1], sys.argv[2]
# Start clean but keep the hand-written PROVENANCE.md and the licence.
os.makedirs(out, exist_ok=True)
for n in os.listdir(out):
    if n not in ('PROVENANCE.md', 'LICENSE.dcmqi.txt'):
        p = os.path.join(out, n)
        shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
tmp = tempfile.mkdtemp()
Y0, X0, H, W = 200, 210, 80, 96  # crop around the spine

def crop(ds, arr):
    ds = copy.deepcopy(ds)
    ds.Rows, ds.Columns = H, W
    ps = [float(x) for x in ds.PixelSpacing]
    iop = [float(x) for x in ds.ImageOrientationPatient]
    ipp = np.array([float(x) for x in ds.ImagePositionPatient])
    ipp = ipp + X0 * ps[1] * np.array(iop[:3]) + Y0 * ps[0] * np.array(iop[3:])
    ds.ImagePositionPatient = [f'{x:.6f}' for x in ipp]
    ds.PixelData = arr[Y0:Y0 + H, X0:X0 + W].astype(arr.dtype).tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.is_little_endian, ds.is_implicit_VR = True, False
    return ds

srcs = sorted(os.listdir(src))
base = []
series_uid = generate_uid(prefix='1.2.826.0.1.3680043.8.498.')
for n in srcs:
    ds = pydicom.dcmread(os.path.join(src, n))
    c = crop(ds, ds.pixel_array)
    c.SeriesInstanceUID = series_uid
    base.append(c)

def save(folder, datasets):
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    for i, d in enumerate(datasets):
        d.save_as(os.path.join(out, folder, f'{i + 1:02d}.dcm'), write_like_original=False)

def tool(folder, argv_for, reference=None):
    """Runs an encoder over the explicit-LE source files into `folder`; optional decoder for the lossy reference."""
    os.makedirs(os.path.join(out, folder))
    for i in range(len(base)):
        s = os.path.join(tmp, 'src', f'{i + 1:02d}.dcm')
        d = os.path.join(out, folder, f'{i + 1:02d}.dcm')
        subprocess.run(argv_for(s, d), check=True, capture_output=True)
        if reference:
            r = os.path.join(tmp, folder, f'{i + 1:02d}.dcm')
            os.makedirs(os.path.dirname(r), exist_ok=True)
            subprocess.run(reference(d, r), check=True, capture_output=True)

os.makedirs(os.path.join(tmp, 'src'))
for i, d in enumerate(base):
    d.save_as(os.path.join(tmp, 'src', f'{i + 1:02d}.dcm'), write_like_original=False)

save('explicit_le', base)
tool('implicit_le', lambda s, d: ['dcmconv', '+ti', s, d])
tool('explicit_be', lambda s, d: ['dcmconv', '+tb', s, d])
tool('deflated', lambda s, d: ['dcmconv', '+td', s, d])
tool('rle', lambda s, d: ['dcmcrle', s, d])
tool('jpeg_lossless_p14', lambda s, d: ['dcmcjpeg', '+el', s, d])
tool('jpeg_lossless_sv1', lambda s, d: ['dcmcjpeg', '+e1', s, d])
tool('jpeg_extended_12bit', lambda s, d: ['dcmcjpeg', '+ee', s, d], lambda d, r: ['dcmdjpeg', d, r])
tool('jpegls_lossless', lambda s, d: ['dcmcjpls', '+el', s, d])
tool('jpegls_near', lambda s, d: ['gdcmconv', '--jpegls', '--lossy', s, d], lambda d, r: ['dcmdjpls', d, r])
tool('j2k_lossless', lambda s, d: ['gdcmconv', '--j2k', s, d])
tool('j2k_lossy', lambda s, d: ['gdcmconv', '--j2k', '--lossy', '-q', '30', s, d], lambda d, r: ['gdcmconv', '--raw', d, r])

# 12 bits stored in 16 allocated, signed (HU = stored - 1024 is kept via intercept 0 here).
b12 = []
for d in base:
    e = copy.deepcopy(d)
    hu = d.pixel_array.astype(np.int32) * int(d.RescaleSlope) + int(d.RescaleIntercept)
    hu = np.clip(hu, -2048, 2047).astype(np.int16)
    e.BitsStored, e.HighBit, e.PixelRepresentation = 12, 11, 1
    e.RescaleSlope, e.RescaleIntercept = 1, 0
    e.PixelData = hu.tobytes()
    b12.append(e)
save('signed_12bit', b12)
for i, d in enumerate(b12):
    d.save_as(os.path.join(tmp, 'src', f's12_{i + 1:02d}.dcm'), write_like_original=False)
os.makedirs(os.path.join(out, 'signed_12bit_jpegls'))
for i in range(len(b12)):
    subprocess.run(['dcmcjpls', '+el', os.path.join(tmp, 'src', f's12_{i + 1:02d}.dcm'), os.path.join(out, 'signed_12bit_jpegls', f'{i + 1:02d}.dcm')], check=True)

# 8-bit unsigned (a windowed display copy, as secondary captures and some exports are), JPEG baseline.
b8 = []
for d in base:
    e = copy.deepcopy(d)
    hu = d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)
    e.BitsAllocated, e.BitsStored, e.HighBit, e.PixelRepresentation = 8, 8, 7, 0
    e.RescaleSlope, e.RescaleIntercept = 4, -1024
    e.PixelData = np.clip((hu + 1024) / 4, 0, 255).astype(np.uint8).tobytes()
    b8.append(e)
for i, d in enumerate(b8):
    d.save_as(os.path.join(tmp, 'src', f'u8_{i + 1:02d}.dcm'), write_like_original=False)
os.makedirs(os.path.join(out, 'jpeg_baseline_8bit'))
os.makedirs(os.path.join(tmp, 'jpeg_baseline_8bit'))
for i in range(len(b8)):
    d = os.path.join(out, 'jpeg_baseline_8bit', f'{i + 1:02d}.dcm')
    subprocess.run(['dcmcjpeg', '+eb', os.path.join(tmp, 'src', f'u8_{i + 1:02d}.dcm'), d], check=True, capture_output=True)
    subprocess.run(['dcmdjpeg', d, os.path.join(tmp, 'jpeg_baseline_8bit', f'{i + 1:02d}.dcm')], check=True, capture_output=True)

# HTJ2K (OpenJPH's ojph_compress, reversible), encapsulated with pydicom.
os.makedirs(os.path.join(out, 'htj2k_lossless'))
for i, d in enumerate(base):
    a = d.pixel_array  # int16 stored values (PixelRepresentation 1 in the source)
    signed = 'true' if d.PixelRepresentation == 1 else 'false'
    raw = os.path.join(tmp, f'h{i}.yuv')
    a.astype('<i2' if signed == 'true' else '<u2').tofile(raw)
    j2c = os.path.join(tmp, f'h{i}.j2c')
    subprocess.run(['ojph_compress', '-i', raw, '-o', j2c, '-reversible', 'true', '-dims', f'{{{W},{H}}}', '-num_comps', '1',
                    '-signed', signed, '-bit_depth', '16', '-downsamp', '{1,1}'], check=True, capture_output=True)
    e = copy.deepcopy(d)
    # pydicom 2.3 does not know the HTJ2K UID: write as J2K lossless, then swap the file meta.
    e.file_meta.TransferSyntaxUID = '1.2.840.10008.1.2.4.90'
    e.PixelData = encapsulate([open(j2c, 'rb').read()])
    e['PixelData'].VR = 'OB'
    e.save_as(os.path.join(tmp, 'h.dcm'), write_like_original=False)
    body = open(os.path.join(tmp, 'h.dcm'), 'rb').read()
    meta_len = 132 + 12 + int.from_bytes(body[140:144], 'little')
    from io import BytesIO
    from pydicom.filewriter import write_file_meta_info
    from pydicom.filebase import DicomFileLike
    fm = copy.deepcopy(e.file_meta)
    fm.TransferSyntaxUID = '1.2.840.10008.1.2.4.201'
    buf = BytesIO(); fp = DicomFileLike(buf); fp.is_little_endian, fp.is_implicit_VR = True, False
    write_file_meta_info(fp, fm, enforce_standard=True)
    with open(os.path.join(out, 'htj2k_lossless', f'{i + 1:02d}.dcm'), 'wb') as f:
        f.write(body[:128] + b'DICM' + buf.getvalue() + body[meta_len:])

# Enhanced CT: one multi-frame file with per-frame functional groups (positions and rescale).
mf = copy.deepcopy(base[0])
mf.SOPClassUID = '1.2.840.10008.5.1.4.1.1.2.1'
mf.SOPInstanceUID = generate_uid(prefix='1.2.826.0.1.3680043.8.498.')
mf.file_meta.MediaStorageSOPClassUID = mf.SOPClassUID
mf.file_meta.MediaStorageSOPInstanceUID = mf.SOPInstanceUID
mf.SeriesInstanceUID = generate_uid(prefix='1.2.826.0.1.3680043.8.498.')
for k in ['ImagePositionPatient', 'ImageOrientationPatient', 'PixelSpacing', 'RescaleSlope', 'RescaleIntercept', 'SliceLocation', 'InstanceNumber']:
    if k in mf: del mf[k]
order = [2, 0, 1]  # frames deliberately not in spatial order
mf.NumberOfFrames = len(base)
shared = Dataset()
po = Dataset(); po.ImageOrientationPatient = base[0].ImageOrientationPatient
pm = Dataset(); pm.PixelSpacing = base[0].PixelSpacing; pm.SliceThickness = base[0].SliceThickness
shared.PlaneOrientationSequence = Sequence([po]); shared.PixelMeasuresSequence = Sequence([pm])
mf.SharedFunctionalGroupsSequence = Sequence([shared])
per = []
for k in order:
    it = Dataset()
    pp = Dataset(); pp.ImagePositionPatient = base[k].ImagePositionPatient
    pv = Dataset(); pv.RescaleSlope = base[k].RescaleSlope; pv.RescaleIntercept = base[k].RescaleIntercept; pv.RescaleType = 'HU'
    it.PlanePositionSequence = Sequence([pp]); it.PixelValueTransformationSequence = Sequence([pv])
    per.append(it)
mf.PerFrameFunctionalGroupsSequence = Sequence(per)
mf.PixelData = b''.join(base[k].PixelData for k in order)
os.makedirs(os.path.join(out, 'enhanced_ct'))
mf.save_as(os.path.join(out, 'enhanced_ct', 'ct.dcm'), write_like_original=False)

def hu_volume(folder):
    """pydicom's HU (apply_modality_lut) of a folder, slices sorted along the normal: [z,y,x] float64."""
    from pydicom.pixel_data_handlers.util import apply_modality_lut
    ds = [pydicom.dcmread(os.path.join(folder, n)) for n in sorted(os.listdir(folder))]
    if len(ds) == 1 and int(getattr(ds[0], 'NumberOfFrames', 1)) > 1:
        d = ds[0]
        arr = d.pixel_array
        sl = []
        for k, it in enumerate(d.PerFrameFunctionalGroupsSequence):
            pv = it.PixelValueTransformationSequence[0]
            pos = [float(x) for x in it.PlanePositionSequence[0].ImagePositionPatient]
            sl.append((pos, arr[k].astype(np.float64) * float(pv.RescaleSlope) + float(pv.RescaleIntercept)))
        iop = [float(x) for x in d.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient]
    else:
        sl = [([float(x) for x in d.ImagePositionPatient], apply_modality_lut(d.pixel_array, d).astype(np.float64)) for d in ds]
        iop = [float(x) for x in ds[0].ImageOrientationPatient]
    n = np.cross(iop[:3], iop[3:])
    sl.sort(key=lambda t: float(np.dot(t[0], n)))
    return np.stack([a for _, a in sl]), sl[0][0]

golden = {}
lossy_ref = {'jpeg_baseline_8bit': os.path.join(tmp, 'jpeg_baseline_8bit'), 'jpeg_extended_12bit': os.path.join(tmp, 'jpeg_extended_12bit'), 'jpegls_near': os.path.join(tmp, 'jpegls_near'),
             'j2k_lossy': os.path.join(tmp, 'j2k_lossy')}
for folder in sorted(n for n in os.listdir(out) if os.path.isdir(os.path.join(out, n))):
    ref_folder = lossy_ref.get(folder)
    if ref_folder is None:
        ref_folder = os.path.join(out, 'signed_12bit') if folder.startswith('signed_12bit') else os.path.join(out, 'explicit_le') if folder != 'enhanced_ct' else os.path.join(out, folder)
    vol, origin = hu_volume(ref_folder)
    ts = str(pydicom.dcmread(os.path.join(out, folder, sorted(os.listdir(os.path.join(out, folder)))[0]), stop_before_pixels=True).file_meta.TransferSyntaxUID)
    g = {'transfer_syntax': ts, 'shape_zyx': list(vol.shape), 'origin_lps': origin, 'min': float(vol.min()), 'max': float(vol.max()),
         'sum': float(vol.sum()), 'sha256_int16': hashlib.sha256(vol.astype('<i2').tobytes()).hexdigest(), 'lossy': folder in lossy_ref}
    if folder in lossy_ref:
        vol.astype('<i2').tofile(os.path.join(out, folder + '.reference.i16'))
    golden[folder] = g
with open(os.path.join(out, 'golden.json'), 'w') as f:
    json.dump(golden, f, indent=1)
print(json.dumps({k: (v['transfer_syntax'], v['min'], v['max']) for k, v in golden.items()}, indent=0))
shutil.rmtree(tmp)
