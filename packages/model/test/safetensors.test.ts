import { describe, expect, it } from 'vitest';
import {
  float16BitsToFloat32,
  float32ToFloat16Bits,
  initWeights,
  modelConfig,
  parameterSpecs,
  readSafetensors,
  SafetensorsError,
  typedArrayBytes,
  weightsFromSafetensors,
  weightsToSafetensors,
  writeSafetensors,
} from '../src/index.js';

const config = modelConfig('tiny', { templateSize: 32, searchSize: 64, dim: 32, headChannels: 16, decisionHidden: 16 });

/** Rewrites a file's header with `edit` applied (keeping the data buffer). */
function editHeader(bytes: Uint8Array, edit: (header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void, dropDataBytes = 0): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const data = bytes.subarray(8 + n, bytes.byteLength - dropDataBytes);
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('safetensors', () => {
  it('round-trips model weights bit-exactly, file and values', () => {
    const weights = initWeights(config, { seed: 9, perturbAll: true });
    // Values whose bits a lossy path would change.
    const w0 = weights.get('backbone.pos_embed_z')!;
    w0[0] = -0;
    w0[1] = 1e-45;
    w0[2] = 3.4028234663852886e38;
    const bytes = weightsToSafetensors(config, weights, { metadata: { seed: '9' } });
    const back = weightsFromSafetensors(config, bytes);
    for (const spec of parameterSpecs(config)) {
      expect(sameBytes(typedArrayBytes(back.get(spec.name)!), typedArrayBytes(weights.get(spec.name)!))).toBe(true);
    }
    expect(Object.is(back.get('backbone.pos_embed_z')![0], -0)).toBe(true);
    const again = weightsToSafetensors(config, back, { metadata: { seed: '9' } });
    expect(sameBytes(again, bytes)).toBe(true);
    const file = readSafetensors(bytes);
    expect(file.metadata).toEqual({ seed: '9' });
    expect(sameBytes(writeSafetensors(file.tensors, file.metadata), bytes)).toBe(true);
    // The header is padded to 8 bytes, as the reference implementation does.
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    expect([...file.tensors.keys()]).toEqual(parameterSpecs(config).map((s) => s.name));
  });

  it('reads F16 weights as float32 and writes F16 with round-to-nearest-even', () => {
    const weights = initWeights(config, { seed: 2 });
    const bytes = weightsToSafetensors(config, weights, { dtype: 'F16' });
    expect(readSafetensors(bytes).tensors.get('backbone.patch_embed.proj.weight')!.dtype).toBe('F16');
    const back = weightsFromSafetensors(config, bytes);
    const a = weights.get('backbone.blocks.0.attn.qkv.weight')!;
    const b = back.get('backbone.blocks.0.attn.qkv.weight')!;
    let violations = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > Math.abs(a[i]!) * 2 ** -11 + 2 ** -25) violations++;
    expect(violations).toBe(0);
    expect(b).not.toEqual(a);
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(70000)).toBe(0x7c00);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });

  it('rejects a missing tensor, naming it', () => {
    const bytes = weightsToSafetensors(config, initWeights(config, { seed: 1 }));
    const file = readSafetensors(bytes);
    const name = 'exits.1.recycle.features.weight';
    const without = writeSafetensors([...file.tensors].filter(([n]) => n !== name));
    expect(() => weightsFromSafetensors(config, without)).toThrow(SafetensorsError);
    expect(() => weightsFromSafetensors(config, without)).toThrow(`tensor "${name}": missing`);
  });

  it('rejects a wrong shape, naming the tensor and both shapes', () => {
    const bytes = weightsToSafetensors(config, initWeights(config, { seed: 1 }));
    const file = readSafetensors(bytes);
    const name = 'backbone.blocks.2.mlp.fc1.weight';
    const t = file.tensors.get(name)!;
    const reshaped = writeSafetensors([...file.tensors].map(([n, v]) => [n, n === name ? { ...t, shape: [t.shape[1]!, t.shape[0]!] } : v] as const));
    expect(() => weightsFromSafetensors(config, reshaped)).toThrow(`tensor "${name}": shape [32, 128] but the architecture needs [128, 32]`);
  });

  it('rejects a truncated buffer, naming the tensor whose bytes are cut', () => {
    const bytes = weightsToSafetensors(config, initWeights(config, { seed: 1 }));
    const lastName = parameterSpecs(config).at(-1)!.name;
    const error = (() => {
      try {
        readSafetensors(bytes.subarray(0, bytes.byteLength - 2));
      } catch (e) {
        return e as SafetensorsError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error!.tensor).toBe(lastName);
    expect(error!.message).toMatch(/truncated/);
    expect(() => readSafetensors(bytes.subarray(0, 20))).toThrow(/header length .* exceeds the file/);
    expect(() => readSafetensors(bytes.subarray(0, 5))).toThrow(/shorter than the 8-byte header length/);
  });

  it('rejects inconsistent headers: offsets that disagree with the shape, overlaps, holes, unknown dtypes', () => {
    const bytes = writeSafetensors([
      ['a', { dtype: 'F32', shape: [2], data: typedArrayBytes(new Float32Array([1, 2])) }],
      ['b', { dtype: 'F32', shape: [1], data: typedArrayBytes(new Float32Array([3])) }],
    ]);
    expect(readSafetensors(bytes).tensors.get('b')!.shape).toEqual([1]);
    expect(() => readSafetensors(editHeader(bytes, (h) => (h.a!.shape = [3])))).toThrow(/tensor "a": data_offsets span 8 bytes but F32 \[3\] needs 12/);
    expect(() => readSafetensors(editHeader(bytes, (h) => (h.b!.data_offsets = [4, 8])))).toThrow(/tensor "b": data overlaps/);
    expect(() => readSafetensors(editHeader(bytes, (h) => (h.a!.dtype = 'F8')))).toThrow(/tensor "a": unsupported dtype/);
    expect(() => readSafetensors(editHeader(bytes, (h) => delete h.a))).toThrow(/tensor "b": hole in the data buffer/);
    expect(() => weightsFromSafetensors(config, writeSafetensors([...readSafetensors(weightsToSafetensors(config, initWeights(config, { seed: 1 }))).tensors, ['extra', readSafetensors(bytes).tensors.get('a')!]]))).toThrow(/tensor "extra": not a parameter/);
  });
});
