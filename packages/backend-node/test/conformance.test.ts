import { describeBackendConformance } from '@dytrack/conformance';
import { createNodeBackend } from '@dytrack/backend-node';

describeBackendConformance('onnxruntime-node (defaults)', () => createNodeBackend(), { loadsFromPath: true });

describeBackendConformance('onnxruntime-node (2 intra-op threads, basic optimisation, no arena)', () =>
  createNodeBackend({ intraOpNumThreads: 2, graphOptimizationLevel: 'basic', enableCpuMemArena: false }),
  { loadsFromPath: true },
);
