/**
 * `@dytrack/tracker`: the DyTrack per-frame loop. `createTracker({ backend,
 * model, exitPolicy, recycler })` returns an OpenCV-style tracker
 * (`init(frame, box)`, `update(frame)`) that runs the model's stages in order
 * and stops at the exit the policy chooses.
 *
 * @packageDocumentation
 */
export type { TrackerOptions, DyTrackTracker } from './tracker.js';
export { createTracker } from './tracker.js';
