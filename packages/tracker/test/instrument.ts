import type { BackendTensor, InferenceBackend, InferenceSession } from '@dytrack/core';

/** Per-session counts and every output tensor ever returned, with its releases. */
export interface Instrumented {
  backend: InferenceBackend;
  runs: Record<string, number>;
  released: string[];
  tensors: { session: string; output: string; disposeCalls: number }[];
  /** Milliseconds spent inside session.run. */
  runMs: number[];
}

/**
 * Wraps a real backend: counts runs per session, records each output tensor
 * and how many times it is disposed, and times `run`. Everything is still
 * computed by the wrapped backend.
 */
export function instrument(inner: InferenceBackend): Instrumented {
  const rec: Instrumented = { backend: undefined as unknown as InferenceBackend, runs: {}, released: [], tensors: [], runMs: [] };
  rec.backend = {
    specificationVersion: 'v1',
    name: `instrumented(${inner.name})`,
    capabilities: inner.capabilities,
    async loadModel(source, options) {
      const s = await inner.loadModel(source, options);
      const name = options?.name ?? s.name;
      rec.runs[name] = 0;
      const wrapped: InferenceSession = {
        name: s.name,
        inputs: s.inputs,
        outputs: s.outputs,
        async run(feeds, opts) {
          rec.runs[name]!++;
          const t0 = performance.now();
          const out = await s.run(feeds, opts);
          rec.runMs.push(performance.now() - t0);
          for (const [output, t] of Object.entries(out)) {
            const entry = { session: name, output, disposeCalls: 0 };
            rec.tensors.push(entry);
            const original = t.dispose.bind(t);
            (t as { dispose: BackendTensor['dispose'] }).dispose = () => {
              entry.disposeCalls++;
              original();
            };
          }
          return out;
        },
        async release() {
          rec.released.push(name);
          await s.release();
        },
      };
      return wrapped;
    },
    dispose: () => inner.dispose(),
  };
  return rec;
}
