import { modelConfig } from '@dytrack/model';

/** A small architecture with the real geometry rules (patch 16, map 4x4), fast enough for tests. */
export const small = modelConfig('tiny', { templateSize: 32, searchSize: 64, dim: 16, heads: 2, stageDepths: [1, 1, 1], headChannels: 8, decisionHidden: 8 });
