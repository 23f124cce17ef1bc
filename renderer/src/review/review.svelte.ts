/**
 * The Review panel's state (docs/review.md): the open case's per-structure review, its versions and
 * audit trail, the edit session with its tool settings, version comparison, the review summary of
 * every case for the case list, and the batch prediction job. Masks live in plain fields (never
 * deep proxies); what the viewports draw goes through the ImageStore as new CaseImages objects.
 */
import { fetchVoxels, type OsteonClient } from '../lib/contract.ts';
import type {
  AuditLine, BatchCaseEvent, CaseReview, CaseReviewSummary, EditOp, EditPatch, EditSessionInfo, ReviewReason, ReviewState, VersionComparison, VersionInfo, VersionRef,
} from '../../../app/contract/index.ts';
import type { OverlayChannel, SliceView } from '../lib/slices.ts';
import type { ImageStore, LoadedVolume } from '../state/images.svelte.ts';
import { confusionOverlays } from '../viewer/state/compare.svelte.ts';
import { applyPatch, confusionCodes } from './lib.ts';

export type Tool = 'none' | 'brush' | 'erase' | 'threshold' | 'fill';
export type ReviewFilter = 'all' | CaseReviewSummary['overall'];

export interface ReviewStructure {
  id: string;
  name: string;
  role: 'whole' | 'part';
  colour: string;
}

/** What the slice viewports show in place of the imported labels. */
export type Shown =
  | { kind: 'labels' }
  | { kind: 'version'; version: number; editing: boolean }
  | { kind: 'compare'; a: VersionRef; b: VersionRef; structure: string };

export class ReviewStore {
  #client: OsteonClient | null = null;
  #images: ImageStore | null = null;
  #summaries = $state.raw<ReadonlyMap<string, CaseReviewSummary>>(new Map());
  #filter = $state<ReviewFilter>('all');
  #caseId = $state<string | null>(null);
  #structures = $state.raw<readonly ReviewStructure[]>([]);
  #current = $state(0);
  #review = $state.raw<CaseReview | null>(null);
  #versions = $state.raw<readonly VersionInfo[]>([]);
  #audit = $state.raw<readonly AuditLine[]>([]);
  #session = $state.raw<EditSessionInfo | null>(null);
  #counts = $state({ undo: 0, redo: 0, dirty: false });
  #shown = $state.raw<Shown>({ kind: 'labels' });
  #overlays = $state.raw<readonly OverlayChannel[] | null>(null);
  #comparison = $state.raw<VersionComparison | null>(null);
  #batch = $state.raw<{ jobId: string; cases: readonly BatchCaseEvent[] } | null>(null);
  #strokes = $state(0);
  /** The renderer's copy of the session's masks (channels in schema order). */
  #working: LoadedVolume & { data: Uint8Array } | null = null;
  #early: BatchCaseEvent[] = [];
  #autoShown: string | null = null;

  /** The last failure of an editing call, shown in the panel (a stroke has no other place to report). */
  error = $state<string | null>(null);
  tool = $state<Tool>('none');
  radiusMm = $state(6);
  huMin = $state(200);
  huMax = $state(3000);
  /** The slice view edited last: interpolation runs along its index axis. */
  activeView = $state<SliceView>('axial');
  /** Each slice view's index axis (normal to it), reported by its EditLayer. */
  #viewAxes = $state<Partial<Record<SliceView, 0 | 1 | 2>>>({});
  /** null: the schema decides (EditSessionInfo.paintWholeDefault). */
  paintWhole = $state<boolean | null>(null);
  eraseParts = $state(true);

  get summaries(): ReadonlyMap<string, CaseReviewSummary> { return this.#summaries; }
  get filter(): ReviewFilter { return this.#filter; }
  set filter(f: ReviewFilter) { this.#filter = f; }
  get caseId(): string | null { return this.#caseId; }
  get structures(): readonly ReviewStructure[] { return this.#structures; }
  get current(): ReviewStructure | null { return this.#structures[this.#current] ?? null; }
  get review(): CaseReview | null { return this.#review; }
  get versions(): readonly VersionInfo[] { return this.#versions; }
  get audit(): readonly AuditLine[] { return this.#audit; }
  get session(): EditSessionInfo | null { return this.#session; }
  get counts(): { undo: number; redo: number; dirty: boolean } { return this.#counts; }
  get shown(): Shown { return this.#shown; }
  /** Overlays replacing the label overlays (compare view), or null. */
  get overlays(): readonly OverlayChannel[] | null { return this.#overlays; }
  get comparison(): VersionComparison | null { return this.#comparison; }
  get batch(): { jobId: string; cases: readonly BatchCaseEvent[] } | null { return this.#batch; }
  /** Strokes applied (and undone/redone) in this session: the e2e test waits on it. */
  get strokes(): number { return this.#strokes; }
  get editing(): boolean { return this.#session !== null && this.#shown.kind === 'version' && this.#shown.editing; }

  #need(): OsteonClient {
    if (!this.#client) throw Object.assign(new Error('not connected to the Osteon host'), { code: 'disconnected' });
    return this.#client;
  }

  fail(e: unknown): void {
    this.error = e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  }

  attach(client: OsteonClient, images: ImageStore): void {
    this.#client = client;
    this.#images = images;
    client.on('review.changed', (p) => {
      void this.refreshSummary(p.caseId);
      if (p.caseId === this.#caseId) void this.refreshCase();
    });
    client.on('predict.case', (e) => {
      const b = this.#batch;
      if (!b || b.jobId !== e.jobId) {
        // Events of a job whose id has not come back yet (predict below).
        this.#early = [...this.#early.slice(-999), e];
        return;
      }
      const cases = b.cases.some((c) => c.caseId === e.caseId) ? b.cases.map((c) => (c.caseId === e.caseId ? e : c)) : [...b.cases, e];
      this.#batch = { jobId: b.jobId, cases };
    });
  }

  async refreshSummaries(): Promise<void> {
    // Before attach (the frame is still connecting) there is nothing to ask; start() asks after.
    if (!this.#client) return;
    const { cases } = await this.#need().call('review.summary');
    this.#summaries = new Map(cases.map((c) => [c.caseId, c]));
  }

  async refreshSummary(caseId: string): Promise<void> {
    void caseId;
    await this.refreshSummaries();
  }

  /** A case was selected (or none): drop the old case's session view and load the new one's review. */
  async open(caseId: string | null, structures: readonly ReviewStructure[]): Promise<void> {
    if (caseId !== this.#caseId) {
      if (this.#caseId && this.#session) await this.#need().call('edit.end', { caseId: this.#caseId }).catch(() => undefined);
      this.#session = null;
      this.#working = null;
      this.#shown = { kind: 'labels' };
      this.#overlays = null;
      this.#comparison = null;
      this.#current = 0;
      this.tool = 'none';
      this.#autoShown = null;
    }
    this.#caseId = caseId;
    this.#structures = structures;
    if (caseId && this.#client) await this.refreshCase();
    else {
      this.#review = null;
      this.#versions = [];
      this.#audit = [];
    }
  }

  async refreshCase(): Promise<void> {
    const id = this.#caseId;
    if (!id) return;
    const c = this.#need();
    const [review, versions, audit] = await Promise.all([c.call('review.get', { caseId: id }), c.call('version.list', { caseId: id }), c.call('case.audit', { caseId: id })]);
    if (id !== this.#caseId) return;
    this.#review = review;
    this.#versions = versions.versions;
    this.#audit = audit.entries;
  }

  stateOf(structure: string): CaseReview['structures'][number] | null {
    return this.#review?.structures.find((s) => s.structure === structure) ?? null;
  }

  nextStructure(delta = 1): void {
    const n = this.#structures.length;
    if (n) this.#current = (this.#current + delta + n) % n;
  }

  selectStructure(id: string): void {
    const i = this.#structures.findIndex((s) => s.id === id);
    if (i >= 0) this.#current = i;
  }

  async setState(structure: string, state: ReviewState, comment?: string, reason?: ReviewReason | null): Promise<void> {
    const id = this.#caseId;
    if (!id) return;
    const prev = this.stateOf(structure);
    const r = await this.#need().call('review.set', {
      caseId: id, structure, state, comment: comment ?? prev?.comment ?? '', ...((reason ?? prev?.reason) ? { reason: (reason ?? prev?.reason)! } : {}),
    });
    this.#review = r;
  }

  async #fetchVersion(version: number): Promise<LoadedVolume & { data: Uint8Array }> {
    const id = this.#caseId!;
    const meta = await this.#need().call('volume.get', { caseId: id, kind: `v${version}` });
    const data = await fetchVoxels(meta);
    if (!(data instanceof Uint8Array)) throw new Error(`version ${version}: expected uint8 masks, got ${meta.dtype}`);
    return { dims: meta.dims, spacing: meta.spacing, origin: meta.origin, direction: meta.direction, channels: meta.channels, data };
  }

  /** Replaces the labels on screen; false when the viewports show another case (nothing changed). */
  #show(labels: LoadedVolume | null, overlays: readonly OverlayChannel[] | null): boolean {
    const cur = this.#images?.images;
    if (!cur || cur.caseId !== this.#caseId) return false;
    this.#overlays = overlays;
    this.#images!.replace({ ...cur, labels });
    return true;
  }

  /** Shows a version's masks (read-only) in the viewports. */
  async showVersion(version: number): Promise<boolean> {
    const vol = await this.#fetchVersion(version);
    if (!this.#show(vol, null)) return false;
    this.#shown = { kind: 'version', version, editing: false };
    return true;
  }

  /**
   * Once per case and load of its voxels: a case with versions opens on its newest one (what the
   * reviewer signs off), not on the imported labels. Called by the frame when voxels arrive.
   */
  async autoShow(imagesCaseId: string | null): Promise<void> {
    const id = this.#caseId;
    const newest = this.#versions.at(-1);
    if (!id || imagesCaseId !== id || !newest || this.#shown.kind !== 'labels' || this.#autoShown === id || this.#session) return;
    this.#autoShown = id;
    if (!(await this.showVersion(newest.version))) this.#autoShown = null;
  }

  /** Back to the imported labels. */
  async showLabels(reload: () => Promise<void>): Promise<void> {
    this.#shown = { kind: 'labels' };
    this.#overlays = null;
    this.tool = 'none';
    this.#autoShown = this.#caseId;
    await reload();
  }

  /** Starts (or resumes) the edit session and shows its masks. */
  async beginEdit(base?: VersionRef): Promise<void> {
    const id = this.#caseId;
    if (!id) return;
    // The session decides what is shown from now on (not the newest-version default).
    this.#autoShown = id;
    const s = await this.#need().call('edit.begin', { caseId: id, ...(base !== undefined ? { base } : {}) });
    this.#session = s;
    this.#counts = { undo: s.undo, redo: s.redo, dirty: s.dirty };
    const v = typeof s.base === 'number' ? s.base : 1;
    const vol = await this.#fetchVersion(v);
    this.#working = vol;
    this.#shown = { kind: 'version', version: v, editing: true };
    this.#show(vol, null);
    if (this.tool === 'none') this.tool = 'brush';
    await this.refreshCase();
  }

  #applied(p: EditPatch): void {
    const w = this.#working;
    if (!w) return;
    applyPatch(w.data, w.dims, p);
    this.#counts = { undo: p.undo, redo: p.redo, dirty: p.dirty };
    this.#strokes++;
    // New wrapper objects around the same buffer: the viewports redraw, the 3D view rebuilds the
    // surfaces of the channels this step changed (LoadedVolume.edit).
    this.#working = { ...w, edit: { seq: (w.edit?.seq ?? 0) + 1, channels: p.channels.map((c) => c.channel) } };
    this.#show(this.#working, null);
  }

  async apply(op: EditOp): Promise<void> {
    const id = this.#caseId;
    if (!id || !this.#session) return;
    this.error = null;
    const hierarchy = { ...(this.paintWhole !== null ? { paintWhole: this.paintWhole } : {}), eraseParts: this.eraseParts };
    this.#applied(await this.#need().call('edit.apply', { caseId: id, op, hierarchy }));
  }

  setViewAxis(view: SliceView, axis: 0 | 1 | 2): void {
    if (this.#viewAxes[view] !== axis) this.#viewAxes = { ...this.#viewAxes, [view]: axis };
  }

  /** The index axis normal to a slice view (axial: 2 until its layer reports, e.g. before voxels load). */
  axisOf(view: SliceView): 0 | 1 | 2 {
    return this.#viewAxes[view] ?? ({ axial: 2, coronal: 1, sagittal: 0 } as const)[view];
  }

  /** Shape-based interpolation of the current structure between the slices edited on `view` (default: the active view). */
  async interpolate(view: SliceView = this.activeView): Promise<void> {
    const cur = this.current;
    if (cur) await this.apply({ kind: 'interpolate', structure: cur.id, axis: this.axisOf(view) });
  }

  async undo(): Promise<void> {
    if (this.#caseId && this.#session) this.#applied(await this.#need().call('edit.undo', { caseId: this.#caseId }));
  }

  async redo(): Promise<void> {
    if (this.#caseId && this.#session) this.#applied(await this.#need().call('edit.redo', { caseId: this.#caseId }));
  }

  async save(message: string): Promise<VersionInfo | null> {
    const id = this.#caseId;
    if (!id || !this.#session) return null;
    const v = await this.#need().call('edit.save', { caseId: id, message });
    this.#session = { ...this.#session, base: v.version, dirty: false };
    this.#counts = { ...this.#counts, dirty: false };
    this.#shown = { kind: 'version', version: v.version, editing: true };
    await this.refreshCase();
    return v;
  }

  async restore(version: number): Promise<VersionInfo | null> {
    const id = this.#caseId;
    if (!id) return null;
    const v = await this.#need().call('version.restore', { caseId: id, version });
    if (this.#session) {
      await this.#need().call('edit.end', { caseId: id });
      this.#session = null;
      this.#working = null;
    }
    this.tool = 'none';
    await this.showVersion(v.version);
    await this.refreshCase();
    return v;
  }

  async compare(a: VersionRef, b: VersionRef): Promise<VersionComparison | null> {
    const id = this.#caseId;
    if (!id) return null;
    this.#comparison = await this.#need().call('version.compare', { caseId: id, a, b });
    return this.#comparison;
  }

  /** The FP/FN overlay of one structure between two versions (FP red: only in b; FN blue: only in a). */
  async showDifference(structure: string): Promise<void> {
    const cmp = this.#comparison;
    const c = this.#structures.findIndex((s) => s.id === structure);
    if (!cmp || c < 0 || cmp.a === 'gt' || cmp.b === 'gt') return;
    const [a, b] = await Promise.all([this.#fetchVersion(cmp.a), this.#fetchVersion(cmp.b)]);
    const n = a.dims[0] * a.dims[1] * a.dims[2];
    this.tool = 'none';
    this.#shown = { kind: 'compare', a: cmp.a, b: cmp.b, structure };
    this.#show({ ...a, channels: 1, data: confusionCodes(a.data, b.data, c, n) }, confusionOverlays);
  }

  /** Writes the review report (HTML + PDF) of this case, or of every case; returns the files. */
  async report(all: boolean): Promise<{ html: string; pdf: string | null; cases: number }> {
    const id = this.#caseId;
    return this.#need().call('report.build', { pdf: true, ...(all || !id ? {} : { caseIds: [id] }) });
  }

  async predict(runId: string, caseIds: string[] | null): Promise<string> {
    const r = await this.#need().call('predict.batch', { runId, ...(caseIds ? { caseIds } : {}) });
    const latest = new Map<string, BatchCaseEvent>();
    for (const e of this.#early) if (e.jobId === r.jobId) latest.set(e.caseId, e);
    this.#early = [];
    this.#batch = { jobId: r.jobId, cases: [...latest.values()] };
    return r.jobId;
  }
}

export const review = new ReviewStore();
