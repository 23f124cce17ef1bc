/**
 * Segmentation versions of a case: `cases/<id>/versions/v0001/` holds `masks.nii.gz` (uint8, one
 * 0/1 channel per schema structure, on the CT's grid) and `version.json` (author, time, source,
 * message, voxel counts, SHA-256 of the masks file).
 *
 * Every save is a new folder, never an overwrite. A version is written whole into a hidden
 * staging folder (`versions/.stage-*`), its files flushed, and then appears with one rename to the
 * next free number; a rename onto an existing, non-empty folder fails, so two writers cannot take
 * the same number and a kill at any point leaves either no new version or a complete one
 * (stale staging folders are ignored by listings and swept by the next save).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { userInfo } from 'node:os';
import { VersionInfo, type VersionSource } from '../contract/review.ts';
import { encodeNifti } from '../imaging/nifti.ts';
import { readVolume } from '../imaging/io.ts';
import type { Geometry } from '../imaging/volume.ts';
import { OsteonError, badInput } from '../util/errors.ts';
import { appendAudit } from './audit.ts';
import { caseFolder } from './paths.ts';

export const VERSION_FORMAT = 'osteon-version/1';
export const MASKS_FILE = 'masks.nii.gz';

export function versionsDir(projectDir: string, caseId: string): string {
  return join(caseFolder(projectDir, caseId), 'versions');
}

export function versionDir(projectDir: string, caseId: string, version: number): string {
  return join(versionsDir(projectDir, caseId), `v${String(version).padStart(4, '0')}`);
}

export function versionMasksPath(projectDir: string, caseId: string, version: number): string {
  return join(versionDir(projectDir, caseId, version), MASKS_FILE);
}

/** The OS user name, or 'unknown' where the OS has none to give. */
export function osUser(): string {
  try { return userInfo().username || 'unknown'; } catch { return 'unknown'; }
}

function versionNumbers(projectDir: string, caseId: string): number[] {
  const dir = versionsDir(projectDir, caseId);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((n) => /^v(\d{4,5})$/.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
}

function readInfo(file: string): VersionInfo {
  let json: unknown;
  try { json = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw badInput(file, '(json)', (e as Error).message); }
  const r = VersionInfo.safeParse((json as { info?: unknown }).info);
  if (!r.success) throw badInput(file, `info.${r.error.issues[0]?.path.join('.')}`, r.error.issues[0]?.message ?? 'invalid');
  return r.data;
}

/** Every complete version of a case, oldest first. */
export function listVersions(projectDir: string, caseId: string): VersionInfo[] {
  return versionNumbers(projectDir, caseId).map((n) => readInfo(join(versionDir(projectDir, caseId, n), 'version.json')));
}

export function getVersion(projectDir: string, caseId: string, version: number): VersionInfo {
  const f = join(versionDir(projectDir, caseId, version), 'version.json');
  if (!existsSync(f)) throw new OsteonError({ code: 'not-found', message: `case '${caseId}' has no version ${version}` });
  return readInfo(f);
}

/** Masks of a version, in the order of its `structures`. */
export function readVersionMasks(projectDir: string, caseId: string, version: number): { info: VersionInfo; masks: Uint8Array[]; geometry: Geometry } {
  const info = getVersion(projectDir, caseId, version);
  const file = versionMasksPath(projectDir, caseId, version);
  const vol = readVolume(file);
  const n = vol.dims[0] * vol.dims[1] * vol.dims[2];
  if (vol.channels !== info.structures.length) throw badInput(file, 'channels', `${vol.channels} channels for ${info.structures.length} structures`);
  const masks = info.structures.map((_, c) => {
    const m = new Uint8Array(n);
    for (let v = 0; v < n; v++) m[v] = vol.data[c * n + v] ? 1 : 0;
    return m;
  });
  return { info, masks, geometry: { dims: vol.dims, spacing: vol.spacing, origin: vol.origin, direction: vol.direction } };
}

export interface NewVersion {
  source: VersionSource;
  message: string;
  structures: string[];
  /** One 0/1 mask per structure, or the exact bytes of an earlier masks file (restore). */
  masks: { kind: 'masks'; geometry: Geometry; data: readonly Uint8Array[] } | { kind: 'bytes'; bytes: Uint8Array; voxels: number[] };
  author?: string;
  now?: Date;
}

function writeSynced(path: string, data: Uint8Array | string): void {
  writeFileSync(path, data);
  const fd = openSync(path, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

function sweepStaging(dir: string): void {
  for (const n of readdirSync(dir)) if (n.startsWith('.stage-')) rmSync(join(dir, n), { recursive: true, force: true });
}

/** Writes a new version (the next free number) and records it in the audit log. */
export function saveVersion(projectDir: string, caseId: string, v: NewVersion): VersionInfo {
  const dir = versionsDir(projectDir, caseId);
  mkdirSync(dir, { recursive: true });
  sweepStaging(dir);
  let bytes: Uint8Array, voxels: number[];
  if (v.masks.kind === 'masks') {
    const { geometry, data } = v.masks;
    const n = geometry.dims[0] * geometry.dims[1] * geometry.dims[2];
    if (data.length !== v.structures.length) throw new OsteonError({ code: 'internal', message: `${data.length} masks for ${v.structures.length} structures` });
    const all = new Uint8Array(n * data.length);
    voxels = data.map((m, c) => {
      if (m.length !== n) throw new OsteonError({ code: 'internal', message: `mask ${v.structures[c]} has ${m.length} voxels, grid ${n}` });
      let count = 0;
      for (let i = 0; i < n; i++) if (m[i]) { all[c * n + i] = 1; count++; }
      return count;
    });
    bytes = gzipSync(encodeNifti({ ...geometry, data: all, channels: data.length }, { descrip: 'Osteon segmentation version' }), { level: 6 });
  } else {
    bytes = v.masks.bytes;
    voxels = v.masks.voxels;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const stage = join(dir, `.stage-${randomBytes(6).toString('hex')}`);
  mkdirSync(stage);
  try {
    writeSynced(join(stage, MASKS_FILE), bytes);
    for (let attempt = 0; attempt < 100; attempt++) {
      const nums = versionNumbers(projectDir, caseId);
      const version = (nums.at(-1) ?? 0) + 1;
      const info = VersionInfo.parse({
        caseId, version, author: v.author ?? osUser(), time: (v.now ?? new Date()).toISOString(), source: v.source,
        message: v.message, structures: v.structures, voxels, sha256,
      });
      writeSynced(join(stage, 'version.json'), JSON.stringify({ format: VERSION_FORMAT, info }, null, 2) + '\n');
      try {
        renameSync(stage, versionDir(projectDir, caseId, version));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') continue;
        throw e;
      }
      appendAudit(projectDir, 'version.save', { caseId, version, source: v.source, message: v.message, sha256, user: info.author });
      return info;
    }
    throw new OsteonError({ code: 'internal', message: `could not find a free version number for case '${caseId}'` });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Saves version `version`'s masks file, byte for byte, as a new version. */
export function restoreVersion(projectDir: string, caseId: string, version: number, message: string | undefined, now?: Date): VersionInfo {
  const old = getVersion(projectDir, caseId, version);
  const bytes = readFileSync(versionMasksPath(projectDir, caseId, version));
  const info = saveVersion(projectDir, caseId, {
    source: { kind: 'restore', of: version }, message: message ?? `restored version ${version}`, structures: old.structures,
    masks: { kind: 'bytes', bytes, voxels: old.voxels }, now,
  });
  appendAudit(projectDir, 'version.restore', { caseId, version: info.version, of: version, user: info.author });
  return info;
}
