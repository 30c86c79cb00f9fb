import { createHash } from 'node:crypto';
import type { InferenceBackend, InferenceSession, LoadModelOptions, RunOptions, TensorValue } from '@dytrack/core';
import { DisposedError } from '@dytrack/core';

interface Entry {
  readonly session: Promise<InferenceSession>;
  refs: number;
}

/**
 * Wraps a backend so that sessions loading the same ONNX bytes share one
 * loaded model (keyed by the bytes' sha256, counted by reference): a server
 * with a hundred tracking sessions holds each stage once, not a hundred
 * times. `InferenceSession.run` may be called concurrently (a core contract),
 * so sharing is safe. The last `release` frees the model. `dispose` releases
 * whatever is still loaded through the wrapper, not the wrapped backend,
 * which stays its owner's.
 */
export function createSharedSessionBackend(backend: InferenceBackend): InferenceBackend & { readonly loadedModels: number } {
  const entries = new Map<string, Entry>();
  let disposed = false;

  function handle(key: string, entry: Entry, inner: InferenceSession): InferenceSession {
    let released = false;
    return {
      name: inner.name,
      inputs: inner.inputs,
      outputs: inner.outputs,
      run(feeds: Readonly<Record<string, TensorValue>>, options?: RunOptions) {
        if (released) return Promise.reject(new DisposedError(`session "${inner.name}"`));
        return inner.run(feeds, options);
      },
      async release(): Promise<void> {
        if (released) return;
        released = true;
        entry.refs -= 1;
        if (entry.refs === 0 && entries.get(key) === entry) {
          entries.delete(key);
          await inner.release();
        }
      },
    };
  }

  return {
    specificationVersion: 'v1',
    name: backend.name,
    capabilities: backend.capabilities,
    get loadedModels(): number {
      return entries.size;
    },
    async loadModel(source: Uint8Array | string, options?: LoadModelOptions): Promise<InferenceSession> {
      if (disposed) throw new DisposedError(`shared backend over "${backend.name}"`);
      const key = typeof source === 'string' ? `path:${source}` : `sha256:${createHash('sha256').update(source).digest('hex')}`;
      let entry = entries.get(key);
      if (!entry) {
        const created: Entry = { session: backend.loadModel(source, options), refs: 0 };
        entry = created;
        entries.set(key, created);
        // A failed load must not stay cached.
        created.session.catch(() => {
          if (entries.get(key) === created) entries.delete(key);
        });
      }
      entry.refs += 1;
      let inner: InferenceSession;
      try {
        inner = await entry.session;
      } catch (error) {
        entry.refs -= 1;
        throw error;
      }
      return handle(key, entry, inner);
    },
    async dispose(): Promise<void> {
      disposed = true;
      const all = [...entries.values()];
      entries.clear();
      await Promise.allSettled(all.map(async (e) => (await e.session).release()));
    },
  };
}
