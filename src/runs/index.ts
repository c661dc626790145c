/** Training runs (open_clip / HLIP logs trees): discovery, settings, metrics, epoch files, weights, diffs. */
export { discover, type Discovery, type LooseCheckpoint, type ModelFolder } from './discover';
export { loadRun, loadTrainLog, lastResults, globalBatch, newestComplete, type Run } from './run';
export { listEpochs, incompleteReason } from './epochs';
export { parseParams, modalityOf } from './params';
export { parseOutLog, parseTrainLine, parseEvalLine, type OutLog } from './out-log';
export { parseResults, parsePythonJson } from './results';
export { describeWeights, weightsSummary, type WeightsInfo } from './weights';
export { diffRuns, RUN_IDENTITY_KEYS, type RunsDiff, type SettingDiff } from './diff';
export { buildCompareData, chartsToCsv, type CompareData, type Chart, type ChartSeries, type SeriesSource } from './compare-data';
export type * from './types';
export { compareCheckpoints, comparisonCsv, type CheckpointComparison, type CheckpointOutcome, type ComparedRow, type ComparedSet } from './checkpoint-compare';
export { compareOnStudy, checkpointLabel, type CheckpointRunner, type CheckpointState, type StudyComparison } from './compare-on-study';
