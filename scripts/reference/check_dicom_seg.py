#!/usr/bin/python3
"""Independent read of a DICOM SEG with pydicom + numpy (no Osteon code), printed as JSON:
segments (number, label, algorithm type/name, voxel count), pairwise overlaps between segments
(voxels set in both at the same position), the Frame of Reference and referenced series, and
whether every frame's source image exists in the CT folder at the frame's position (for an
enhanced multi-frame CT: the source instance and ReferencedFrameNumber, whose per-frame
PlanePositionSequence must be the SEG frame's position).
Usage: check_dicom_seg.py SEG CT_FOLDER_OR_FILE"""
import json, os, sys
import numpy as np
import pydicom

seg = pydicom.dcmread(sys.argv[1])
ct_files = [os.path.join(sys.argv[2], f) for f in sorted(os.listdir(sys.argv[2]))] if os.path.isdir(sys.argv[2]) else [sys.argv[2]]
ct = {d.SOPInstanceUID: d for d in (pydicom.dcmread(f, stop_before_pixels=True) for f in ct_files)}


def source_position(src):
    """ImagePositionPatient of the referenced CT image (or frame of a multi-frame CT)."""
    d = ct.get(src.ReferencedSOPInstanceUID)
    if d is None:
        return None
    if 'ReferencedFrameNumber' in src:
        fr = d.PerFrameFunctionalGroupsSequence[int(src.ReferencedFrameNumber) - 1]
        return tuple(round(float(x), 3) for x in fr.PlanePositionSequence[0].ImagePositionPatient)
    return tuple(round(float(x), 3) for x in d.ImagePositionPatient)


rows, cols, n = int(seg.Rows), int(seg.Columns), int(seg.NumberOfFrames)
bits = np.unpackbits(np.frombuffer(seg.PixelData, np.uint8), bitorder='little')[: rows * cols * n].reshape(n, rows, cols)
vox = {}
sources_ok = True
for k, f in enumerate(seg.PerFrameFunctionalGroupsSequence):
    s = int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
    ipp = tuple(round(float(x), 3) for x in f.PlanePositionSequence[0].ImagePositionPatient)
    if source_position(f.DerivationImageSequence[0].SourceImageSequence[0]) != ipp:
        sources_ok = False
    vox.setdefault(s, {})
    vox[s][ipp] = vox[s].get(ipp, np.zeros((rows, cols), bool)) | bits[k].astype(bool)
segments = []
for it in seg.SegmentSequence:
    num = int(it.SegmentNumber)
    segments.append({'number': num, 'label': str(it.SegmentLabel), 'type': str(it.SegmentAlgorithmType),
                     'algorithm': str(getattr(it, 'SegmentAlgorithmName', '')), 'count': int(sum(int(m.sum()) for m in vox.get(num, {}).values())),
                     'category': str(it.SegmentedPropertyCategoryCodeSequence[0].CodeMeaning), 'property': str(it.SegmentedPropertyTypeCodeSequence[0].CodeMeaning)})
overlaps = {}
nums = sorted(vox)
for a in nums:
    for b in nums:
        if a < b:
            overlaps[f'{a}-{b}'] = int(sum(int((vox[a][p] & vox[b][p]).sum()) for p in vox[a] if p in vox[b]))
first = next(iter(ct.values()))
print(json.dumps({'sop_class': str(seg.SOPClassUID), 'type': str(seg.SegmentationType), 'segments': segments, 'overlaps': overlaps,
                  'frame_of_reference_ok': seg.FrameOfReferenceUID == first.FrameOfReferenceUID,
                  'referenced_series_ok': seg.ReferencedSeriesSequence[0].SeriesInstanceUID == first.SeriesInstanceUID,
                  'study_ok': seg.StudyInstanceUID == first.StudyInstanceUID, 'sources_ok': sources_ok}))
