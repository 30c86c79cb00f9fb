/**
 * `@dytrack/recycling`: what flows between DyTrack's stages within a frame
 * and across frames (DESIGN 3.3), and when each recycled tensor is released.
 *
 * @packageDocumentation
 */
export type { Recycler } from './recycler.js';
export { createRecycler } from './recycler.js';
export type { RecyclingPlan, StagePlan, TemplatePlan, PlannedInput } from './plan.js';
export { planRecycling } from './plan.js';
