/**
 * Finds the DICOM image files under a path: a folder (recursively, any file name, extension or
 * none), a DICOMDIR (the files its records reference), or one file. Headers only; non-image
 * objects (SEG, RTSTRUCT, SR, presentation states) and non-DICOM files are skipped and reported.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { readHead } from './files.ts';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { badInput } from '../util/errors.ts';
import { isDicom, looksLikeBareDicom, parseDicom, seq, str, tag, type DicomFile } from './dicom-parse.ts';

export interface ScannedFile {
  file: DicomFile;
}

export interface Scan {
  images: ScannedFile[];
  warnings: string[];
}

/** Non-image objects that may share a folder with the CT (SEG, RTSTRUCT, SR, presentation states, DICOMDIR). */
const NON_IMAGE_SOP = /^1\.2\.840\.10008\.(5\.1\.4\.1\.1\.(66|481|88|11)\.|1\.3\.10$)/;
/** Files that are surely not DICOM, skipped without opening. */
const NOT_DICOM = /\.(txt|json|md|xml|html?|csv|nii|gz|nrrd|nhdr|mha|mhd|png|jpe?g|zip|pdf|ini|log|exe|dll|inf|bat)$/i;
/** Most files a folder scan opens (a whole PACS archive is not a series). */
const MAX_FILES = 100_000;
const MAX_DEPTH = 16;
const SOP_CLASS = tag(0x0008, 0x0016), PIXEL_DATA = tag(0x7fe0, 0x0010);
const DIR_RECORDS = tag(0x0004, 0x1220), REFERENCED_FILE = tag(0x0004, 0x1500);

export function scanDicom(path: string): Scan {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw badInput(path, 'path', 'not found', 'not-found');
  }
  const warnings: string[] = [];
  let files: string[];
  if (st.isDirectory()) {
    const dicomdir = ['DICOMDIR', 'dicomdir'].map((n) => join(path, n)).find((p) => isFile(p));
    files = dicomdir ? dicomdirFiles(dicomdir) : walk(path);
  } else if (basename(path).toUpperCase() === 'DICOMDIR') {
    files = dicomdirFiles(path);
  } else {
    files = [path];
  }
  if (files.length === 0) throw badInput(path, 'files', 'holds no DICOM files');
  const images: ScannedFile[] = [];
  for (const p of files) {
    const head = readHead(p, HEAD_BYTES);
    if (!isDicom(head) && !looksLikeBareDicom(head)) {
      if (/\.dcm$/i.test(p) || files.length === 1) parseDicom(p, readFileSync(p)); // throws the precise reason
      warnings.push(`${relative(path, p) || basename(p)}: skipped (not a DICOM file)`);
      continue;
    }
    const f = headerOf(p, head);
    const sop = str(f, SOP_CLASS) ?? '';
    if (!f.elements.has(PIXEL_DATA) || NON_IMAGE_SOP.test(sop)) {
      warnings.push(`${relative(path, p) || basename(p)}: skipped (not an image, SOP class ${sop || 'unknown'})`);
      continue;
    }
    images.push({ file: f });
  }
  if (images.length === 0) throw badInput(path, 'files', `no DICOM image among ${files.length} files`);
  return { images, warnings };
}

/** Headers are read from the first 256 KiB (enough for CT; larger headers are read whole). */
const HEAD_BYTES = 256 * 1024;

/** The file's headers, from its first bytes when they hold them all, else from the whole file. */
function headerOf(p: string, head: Buffer): DicomFile {
  const deflated = head.includes('1.2.840.10008.1.2.1.99', 0, 'latin1');
  if (head.length < HEAD_BYTES || deflated) return parseDicom(p, head.length < HEAD_BYTES ? head : readFileSync(p), { headerOnly: true });
  try {
    const f = parseDicom(p, head, { headerOnly: true });
    if (f.elements.has(PIXEL_DATA)) return f;
  } catch {
    // The headers run past the first bytes: read the whole file below.
  }
  return parseDicom(p, readFileSync(p), { headerOnly: true });
}

function isFile(p: string): boolean {
  try { return statSync(p).isFile(); } catch { return false; }
}

function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string, depth: number) => {
    if (depth > MAX_DEPTH) throw badInput(root, 'path', `folders nested deeper than ${MAX_DEPTH} levels`);
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.') || NOT_DICOM.test(name)) continue;
      const p = join(dir, name);
      let st;
      try { st = statSync(p); } catch { continue; } // dangling link
      if (st.isDirectory()) visit(p, depth + 1);
      else if (st.isFile() && st.size > 0) {
        out.push(p);
        if (out.length > MAX_FILES) throw badInput(root, 'path', `more than ${MAX_FILES} files; point at one study or series folder`);
      }
    }
  };
  visit(root, 0);
  return out;
}

/** The image files a DICOMDIR references (ReferencedFileID, PS3.3 F.3), confined to its folder. */
function dicomdirFiles(dicomdir: string): string[] {
  const d = parseDicom(dicomdir, readFileSync(dicomdir));
  const root = resolve(dirname(dicomdir));
  const out: string[] = [];
  for (const rec of seq(d, DIR_RECORDS)) {
    const id = str(rec, REFERENCED_FILE);
    if (!id) continue;
    const parts = id.split('\\').filter((x) => x !== '');
    const p = resolve(root, ...parts);
    if (!p.startsWith(root + sep)) throw badInput(dicomdir, 'ReferencedFileID', `"${id}" points outside the DICOMDIR's folder`);
    // File IDs are upper case by the standard; exports made on case-sensitive systems may not be.
    const lower = resolve(root, ...parts.map((x) => x.toLowerCase()));
    const found = isFile(p) ? p : isFile(lower) ? lower : null;
    if (!found) throw badInput(dicomdir, 'ReferencedFileID', `"${id}" not found`, 'not-found');
    out.push(found);
  }
  return [...new Set(out)];
}
