// Frame generation speed of the procedural sequences (the training pipeline samples from them in memory).
// Run: node --conditions=@dytrack/source --import tsx packages/eval/bench/generator.ts
import { createSyntheticSequence } from '../src/index.js';

const sizes: [number, number][] = [[256, 256], [320, 240], [640, 480]];
for (const [w, h] of sizes) {
  const seq = createSyntheticSequence({ seed: 1234, width: w, height: h, length: 300 });
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < 30; i++) seq.renderFrame(i, out); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    for (let i = 0; i < 100; i++) seq.renderFrame((i * 37) % 300, out); // random access, as pair sampling does
    runs.push((performance.now() - t) / 100);
  }
  runs.sort((a, b) => a - b);
  const t0 = performance.now();
  createSyntheticSequence({ seed: 99, width: w, height: h, length: 300 });
  const create = performance.now() - t0;
  console.log(`${w}x${h}: median ${runs[3]!.toFixed(2)} ms/frame (min ${runs[0]!.toFixed(2)}); creating a 300-frame sequence ${create.toFixed(1)} ms`);
}
