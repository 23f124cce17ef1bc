// The training UI's door into the core: app/contract only (the lint layer rule enforces it).
export {
  runJob, type OsteonClient, type EventPayload, type TrainRequest, type TrainPlan, type RunSummary, type RunDetail, type EpochRecord,
  type RunEvaluation, type RunThresholds, type ThresholdCurve, type ConfigDifference, type CellMetrics, type Calibration,
} from '../../../app/contract/index.ts';
