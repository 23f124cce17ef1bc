export type ViewportId = 'axial' | 'coronal' | 'sagittal' | '3d';
export const viewportIds: readonly ViewportId[] = ['axial', 'coronal', 'sagittal', '3d'];

export type DialogId = 'project' | 'import' | 'help' | 'export' | 'import-seg';
export type CentreTab = 'viewer' | 'dashboards';

/** Which dialog, drawer and viewport layout is showing. One dialog at a time. */
export class UiState {
  #dialog = $state<DialogId | null>(null);
  #jobsOpen = $state(false);
  #maximised = $state<ViewportId | null>(null);
  #centre = $state<CentreTab>('viewer');
  // Side panels: collapsible; below 1100 px the right one starts collapsed so the viewports keep
  // most of the width.
  #leftOpen = $state(true);
  #rightOpen = $state(typeof window === 'undefined' || window.innerWidth >= 1100);

  get leftOpen(): boolean {
    return this.#leftOpen;
  }
  get rightOpen(): boolean {
    return this.#rightOpen;
  }
  togglePanel(side: 'left' | 'right'): void {
    if (side === 'left') this.#leftOpen = !this.#leftOpen;
    else this.#rightOpen = !this.#rightOpen;
  }

  get dialog(): DialogId | null {
    return this.#dialog;
  }

  get jobsOpen(): boolean {
    return this.#jobsOpen;
  }

  get maximised(): ViewportId | null {
    return this.#maximised;
  }

  get centre(): CentreTab {
    return this.#centre;
  }

  showCentre(t: CentreTab): void {
    this.#centre = t;
  }

  open(d: DialogId): void {
    this.#dialog = d;
  }

  close(): void {
    this.#dialog = null;
  }

  toggleJobs(open?: boolean): void {
    this.#jobsOpen = open ?? !this.#jobsOpen;
  }

  /** Maximising (or restoring) a viewport also brings the viewer to the front. */
  maximise(v: ViewportId | null): void {
    this.#maximised = v;
    this.#centre = 'viewer';
  }
}
