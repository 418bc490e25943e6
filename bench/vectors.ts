/**
 * Vectors with neighbour structure: a low-rank model (a 48-d latent through a fixed basis, plus
 * noise), normalized. i.i.d. random vectors have no near neighbours and make any index look broken.
 */
export function lowRankVectors(
  count: number,
  dimensions: number,
  random: () => number, // seeded (prng), so that a run can be repeated
  latent = 48,
): Float32Array[] {
  const uniform = () => 1 - random(); // (0, 1]: the logarithm below must not see 0
  const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const basis = Array.from({ length: latent }, () => Float32Array.from({ length: dimensions }, gauss));
  return Array.from({ length: count }, () => {
    const v = new Float32Array(dimensions);
    for (const row of basis) {
      const z = gauss();
      for (let i = 0; i < dimensions; i++) v[i] = (v[i] ?? 0) + z * (row[i] ?? 0);
    }
    let norm = 0;
    for (let i = 0; i < dimensions; i++) {
      v[i] = (v[i] ?? 0) + 2 * gauss();
      norm += (v[i] ?? 0) ** 2;
    }
    return v.map((x) => x / Math.sqrt(norm));
  });
}
