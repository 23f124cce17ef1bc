// "Open this case here": what the results table asks the viewer to show. The workstation selects
// the case, brings the viewer to the front and publishes the request (see viewFocus in
// focus.svelte.ts) for the viewer to move to `slice` along `axis` and highlight `structure`.

export interface FocusRequest {
  caseId: string;
  structure: string;
  /** Index along `axis` (the axial axis of the case grid); null when the prediction is right everywhere. */
  slice: number | null;
  axis: number;
  runId: string;
}
