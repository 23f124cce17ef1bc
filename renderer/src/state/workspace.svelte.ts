import type { CaseSummary, OsteonClient, ProjectSummary, Res } from '../lib/contract.ts';
import { parseAnalysis, type ParsedAnalysis } from '../lib/analysis.ts';
import { toShownError, type ShownError } from '../lib/errorHints.ts';

export type AppInfo = Res<'app.info'>;
export type RecentProject = Res<'project.recent'>['projects'][number];
export type CaseDetail = Res<'case.get'>;

export type Connection =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'lost' }
  | { state: 'failed'; error: ShownError };

/**
 * The open project, its cases and the selected case with its analysis. Contract payloads are
 * replaced whole on every refresh, so they live in `$state.raw` (no deep proxies).
 */
export class Workspace {
  #client: OsteonClient | null = null;
  #connection = $state.raw<Connection>({ state: 'connecting' });
  #info = $state.raw<AppInfo | null>(null);
  /** Why the ML backend may not be used (review-only mode), or null (app.capabilities). */
  #mlReason = $state<string | null>(null);
  #project = $state.raw<ProjectSummary | null>(null);
  #recent = $state.raw<RecentProject[]>([]);
  #cases = $state.raw<CaseSummary[]>([]);
  #selectedId = $state<string | null>(null);
  #detail = $state.raw<CaseDetail | null>(null);
  #loadingDetail = $state(false);

  get client(): OsteonClient | null {
    return this.#client;
  }
  get connection(): Connection {
    return this.#connection;
  }
  get info(): AppInfo | null {
    return this.#info;
  }
  get mlReason(): string | null {
    return this.#mlReason;
  }
  /** Why the open project cannot be changed (opened read-only), or null: shown beside every control that would change it. */
  get readOnly(): string | null {
    const p = this.#project;
    return p?.readOnly ? `“${p.name}” is open read-only, so nothing in it can be changed; to edit, open it again without “Open read-only”` : null;
  }
  get project(): ProjectSummary | null {
    return this.#project;
  }
  get recent(): readonly RecentProject[] {
    return this.#recent;
  }
  get cases(): readonly CaseSummary[] {
    return this.#cases;
  }
  get selectedId(): string | null {
    return this.#selectedId;
  }
  get selected(): CaseSummary | null {
    return this.#cases.find((c) => c.id === this.#selectedId) ?? null;
  }
  get detail(): CaseDetail | null {
    return this.#detail;
  }
  get loadingDetail(): boolean {
    return this.#loadingDetail;
  }
  /** The selected case's analysis, parsed; null while there is none to show. */
  get analysis(): ParsedAnalysis | null {
    const d = this.#detail;
    return d && d.analysis !== null ? parseAnalysis(d.analysis) : null;
  }

  /** Connects, loads the host info, the open project and its cases, and follows change events. */
  async connect(connect: () => Promise<OsteonClient>): Promise<void> {
    try {
      const client = await connect();
      this.#client = client;
      client.on('project.changed', (p) => {
        this.#project = p.project;
        void this.refreshCases();
      });
      client.on('case.changed', (p) => {
        this.#cases = this.#cases.some((c) => c.id === p.caseId)
          ? this.#cases.map((c) => (c.id === p.caseId ? p.summary : c))
          : [...this.#cases, p.summary];
        if (p.caseId === this.#selectedId) void this.loadDetail(p.caseId);
      });
      this.#info = await client.call('app.info');
      this.#mlReason = (await client.call('app.capabilities')).ml.reason;
      this.#project = (await client.call('project.get')).project;
      this.#recent = (await client.call('project.recent')).projects;
      this.#connection = { state: 'connected' };
      await this.refreshCases();
      // `?case=ID` (the URL `osteon serve --sample` and so `npm start` print): open on that case.
      const wanted = typeof location === 'undefined' ? null : new URLSearchParams(location.search).get('case');
      if (wanted && !this.#selectedId && this.#cases.some((c) => c.id === wanted)) await this.select(wanted);
    } catch (e) {
      this.#connection = { state: 'failed', error: toShownError(e) };
    }
  }

  /** A call failed because the host went away: the status bar says so until a reload. */
  lost(): void {
    this.#connection = { state: 'lost' };
  }

  #need(): OsteonClient {
    if (!this.#client) throw Object.assign(new Error('not connected to the Osteon host'), { code: 'disconnected' });
    return this.#client;
  }

  /** readOnly: nothing is written to the project; the host refuses every change (docs/review.md). */
  async openProject(dir: string, readOnly = false): Promise<ProjectSummary> {
    this.#project = await this.#need().call('project.open', readOnly ? { dir, readOnly } : { dir });
    await this.#afterProjectChange();
    return this.#project;
  }

  async createProject(dir: string, name: string): Promise<ProjectSummary> {
    this.#project = await this.#need().call('project.create', { dir, name });
    await this.#afterProjectChange();
    return this.#project;
  }

  async #afterProjectChange(): Promise<void> {
    this.#selectedId = null;
    this.#detail = null;
    this.#recent = (await this.#need().call('project.recent')).projects;
    await this.refreshCases();
  }

  async refreshCases(): Promise<void> {
    if (!this.#project) {
      this.#cases = [];
      return;
    }
    this.#cases = (await this.#need().call('case.list')).cases;
    if (this.#selectedId && !this.#cases.some((c) => c.id === this.#selectedId)) {
      this.#selectedId = null;
      this.#detail = null;
    }
  }

  async select(caseId: string | null): Promise<void> {
    this.#selectedId = caseId;
    this.#detail = null;
    if (caseId) await this.loadDetail(caseId);
  }

  /** Moves the selection by `delta` in the case list (wrapping). */
  async step(delta: number): Promise<void> {
    const n = this.#cases.length;
    if (n === 0) return;
    const i = this.#cases.findIndex((c) => c.id === this.#selectedId);
    const next = i < 0 ? (delta > 0 ? 0 : n - 1) : (i + delta + n) % n;
    await this.select(this.#cases[next].id);
  }

  /** Starts the ML backend (loading tfjs takes seconds) and records what it reports. */
  async startBackend(): Promise<NonNullable<AppInfo['backend']>> {
    const backend = await this.#need().call('app.backend');
    if (this.#info) this.#info = { ...this.#info, backend };
    return backend;
  }

  /** Marks the selected case's labels as reviewed (audited by the store). */
  async approve(note?: string): Promise<CaseSummary | null> {
    const id = this.#selectedId;
    if (!id) return null;
    const s = await this.#need().call('case.approve', { caseId: id, note });
    this.#cases = this.#cases.map((c) => (c.id === id ? s : c));
    return s;
  }

  async loadDetail(caseId: string): Promise<void> {
    this.#loadingDetail = true;
    try {
      const d = await this.#need().call('case.get', { caseId });
      if (this.#selectedId === caseId) this.#detail = d;
    } finally {
      this.#loadingDetail = false;
    }
  }
}
