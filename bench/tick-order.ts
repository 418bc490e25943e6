/**
 * The nodes that publish in one tick of the load generator, in the order they go out: the `count`
 * nodes from `first` on (wrapping at `nodes`), sent from a random one of them on. In order, with
 * nodes dealt to gateways in turn, one gateway would get every tick's first message, and that cost
 * it 3 to 4.5 % more CPU per message than the others (bench:ingest, five gateways side by side, six
 * runs), likely because it wakes for that message alone while the others find theirs waiting.
 */
export function tickOrder(first: number, count: number, nodes: number, random: () => number = Math.random): number[] {
  const offset = Math.floor(random() * count);
  return Array.from({ length: count }, (_, j) => (first + ((offset + j) % count)) % nodes);
}
