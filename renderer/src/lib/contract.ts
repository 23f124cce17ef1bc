// The renderer's single door into the core: app/contract only (the lint layer rule enforces it).
export {
  connectOsteon, fetchVoxels, ContractError, type OsteonBridge,
  type OsteonClient, type Res, type JobInfo, type CaseSummary, type ProjectSummary, type VolumeMeta, type EventPayload,
} from '../../../app/contract/index.ts';
