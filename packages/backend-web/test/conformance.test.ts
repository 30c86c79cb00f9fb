import { describeBackendConformance } from '@dytrack/conformance';
import { createWebBackend } from '@dytrack/backend-web';

// Under Node, onnxruntime-web reads a string source as a file path.
describeBackendConformance('onnxruntime-web (wasm)', () => createWebBackend({ executionProviders: ['wasm'] }), { loadsFromPath: true });
