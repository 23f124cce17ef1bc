/**
 * Copies an image into a case folder with everything it needs: a detached NRRD (.nhdr) or
 * MetaImage (.mhd) gets its data file copied beside it and its header rewritten to name the
 * copy (a relative name, inside the case folder); an Analyze / NIfTI .hdr gets its .img. The
 * data file is found with the readers' own rule (`resolveDataFile`: inside the header's folder).
 */
import { constants, readFileSync, statSync } from 'node:fs';
import { copyFile, cp, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { resolveDataFile } from '../imaging/files.ts';
import { MAX_TEXT_HEADER } from '../imaging/text-header.ts';
import { badInput } from '../util/errors.ts';

/** Extension of a detached data file worth keeping (`.raw.gz`, `.raw`, `.img`, ...). */
function dataExt(name: string): string {
  const m = /(\.[a-z0-9]{1,8}(\.gz)?)$/i.exec(basename(name));
  return m ? m[1].toLowerCase() : '.raw';
}

/** Replaces the value of the first header line matching `re` (the key part is kept). */
function rewriteLine(text: string, re: RegExp, value: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  if (i < 0) return text;
  const m = re.exec(lines[i])!;
  lines[i] = `${m[0]}${value}${lines[i].endsWith('\r') ? '\r' : ''}`;
  return lines.join('\n');
}

/**
 * Copies `from` to `destDir/<stem><ext>` (plus data files). Returns the main file's name and
 * every file written, relative to `destDir`.
 */
export async function copyImage(from: string, destDir: string, stem: string, ext: string): Promise<{ main: string; files: string[] }> {
  const main = `${stem}${ext}`;
  const to = join(destDir, main);
  if (statSync(from).isDirectory()) {
    await cp(from, to, { recursive: true, errorOnExist: true, force: false, dereference: true });
    return { main, files: [main] };
  }
  const lower = from.toLowerCase();
  if (lower.endsWith('.nhdr') || lower.endsWith('.mhd')) {
    const size = statSync(from).size;
    if (size > MAX_TEXT_HEADER) throw badInput(from, 'header', `${size} bytes: too large for a detached header`);
    const text = readFileSync(from, 'latin1');
    const nrrd = lower.endsWith('.nhdr');
    const re = nrrd ? /^(data ?file:\s*)/ : /^(ElementDataFile\s*=\s*)/;
    const line = text.split('\n').find((l) => re.test(l));
    const named = line?.replace(re, '').replace(/\r$/, '').trim();
    if (!named || named === 'LOCAL') {
      await copyFile(from, to, constants.COPYFILE_EXCL);
      return { main, files: [main] };
    }
    const field = nrrd ? 'data file' : 'ElementDataFile';
    const data = resolveDataFile(from, named, field);
    const dataName = `${stem}.data${dataExt(named)}`;
    await copyFile(data, join(destDir, dataName), constants.COPYFILE_EXCL);
    await writeFile(to, rewriteLine(text, re, dataName), { encoding: 'latin1', flag: 'wx' });
    return { main, files: [main, dataName] };
  }
  const pair = /\.hdr(\.gz)?$/i.exec(from);
  if (pair) {
    await copyFile(from, to, constants.COPYFILE_EXCL);
    const img = from.replace(/\.hdr(\.gz)?$/i, '.img$1');
    const imgName = main.replace(/\.hdr(\.gz)?$/i, '.img$1');
    const real = resolveDataFile(from, basename(img), 'img');
    await copyFile(real, join(destDir, imgName), constants.COPYFILE_EXCL);
    return { main, files: [main, imgName] };
  }
  await copyFile(from, to, constants.COPYFILE_EXCL);
  return { main, files: [main] };
}
