import { BackendError, InvalidArgumentError, MANIFEST_FILE_NAME, ModelMismatchError, parseManifest, verifySha256, type ModelManifest, type ModelSource } from '@dytrack/core';

/** The subset of `fetch` the URL loader uses (pass your own for auth headers, caching or tests). */
export type FetchLike = (url: string) => Promise<{ readonly ok: boolean; readonly status: number; readonly statusText?: string; arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string> }>;

/** Every file a manifest names (template encoder first, then the stages). */
export function manifestFiles(manifest: ModelManifest): { readonly file: string; readonly sha256: string }[] {
  return [manifest.templateEncoder, ...manifest.stages].filter((g): g is NonNullable<typeof g> => g !== undefined).map((g) => ({ file: g.file, sha256: g.sha256 }));
}

/**
 * A {@link ModelSource} over a model directory served over HTTP (browsers,
 * workers, Node's global fetch): fetches `dytrack.model.json` from `baseUrl`,
 * parses it, and fetches each file on demand, verifying its sha256.
 */
export async function loadModelFromUrl(baseUrl: string | URL, fetchImpl: FetchLike = globalThis.fetch as unknown as FetchLike): Promise<ModelSource> {
  if (typeof fetchImpl !== 'function') throw new BackendError('loadModelFromUrl: no fetch implementation available; pass one');
  let base: URL;
  try {
    base = new URL(String(baseUrl).endsWith('/') ? String(baseUrl) : `${String(baseUrl)}/`, typeof location === 'undefined' ? undefined : location.href);
  } catch (e) {
    throw new InvalidArgumentError(`loadModelFromUrl: "${String(baseUrl)}" is not a URL (relative URLs need a page to resolve against)`, { cause: e });
  }
  const get = async (file: string) => {
    const url = new URL(file, base).href;
    let response;
    try {
      response = await fetchImpl(url);
    } catch (e) {
      throw new BackendError(`loadModelFromUrl: fetching ${url} failed: ${(e as Error).message}`, { cause: e });
    }
    if (!response.ok) throw new BackendError(`loadModelFromUrl: ${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    return response;
  };
  const manifest = parseManifest(await (await get(MANIFEST_FILE_NAME)).text());
  const known = new Map(manifestFiles(manifest).map((f) => [f.file, f.sha256]));
  return {
    manifest,
    async readFile(file: string): Promise<Uint8Array> {
      const expected = known.get(file);
      if (expected === undefined) throw new ModelMismatchError(`${file}: not a file named by the manifest`);
      const bytes = new Uint8Array(await (await get(file)).arrayBuffer());
      await verifySha256(bytes, expected, file);
      return bytes;
    },
  };
}
