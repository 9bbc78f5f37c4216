/** A seeded random number generator (mulberry32), so chunkings are reproducible. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `text` into pieces whose sizes `sizes` gives (at least 1), as a model's stream would. */
export function chunk(text: string, sizes: () => number): string[] {
  const chunks: string[] = [];
  for (let index = 0; index < text.length; ) {
    const size = Math.max(1, Math.floor(sizes()));
    chunks.push(text.slice(index, index + size));
    index += size;
  }
  return chunks;
}

/** One character at a time, then four seeded random chunkings of 1–12 characters. */
export function chunkings(text: string): string[][] {
  return [
    chunk(text, () => 1),
    ...[1, 2, 3, 4].map((seed) => {
      const next = random(seed);
      return chunk(text, () => 1 + next() * 12);
    }),
  ];
}
