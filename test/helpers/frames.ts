/** Crafted Ethernet frames for BPF_PROG_TEST_RUN. */
const MAC_DST = [0x02, 0, 0, 0, 0, 0x01];
const MAC_SRC = [0x02, 0, 0, 0, 0, 0x02];

const be16 = (v: number) => [v >> 8, v & 0xff];

function ipv4Header(source: string): number[] {
  const header = [0x45, 0, ...be16(20), 0, 0, 0, 0, 64, 17, 0, 0, ...source.split(".").map(Number), 10, 0, 0, 254];
  return header;
}

function ipv6Header(source: string): number[] {
  const groups = source.split(":").map((g) => parseInt(g || "0", 16));
  const bytes = groups.flatMap(be16);
  return [0x60, 0, 0, 0, ...be16(0), 17, 64, ...bytes, ...new Array<number>(15).fill(0), 1];
}

export interface Frame {
  bytes: Uint8Array;
  /** Where each header ends: cutting the frame anywhere before one leaves that header truncated. */
  headerEnds: number[];
}

function frame(ethertype: number, l3: number[], vlan = false): Frame {
  const tag = vlan ? [...be16(0x8100), ...be16(42)] : [];
  const l2 = [
    ...MAC_DST,
    ...MAC_SRC,
    ...(vlan ? tag.slice(0, 2) : be16(ethertype)),
    ...(vlan ? [...tag.slice(2), ...be16(ethertype)] : []),
  ];
  const ends = vlan ? [14, 18] : [14];
  if (l3.length > 0) ends.push(l2.length + l3.length);
  return { bytes: Uint8Array.from([...l2, ...l3, ...new Array<number>(8).fill(0xab)]), headerEnds: ends };
}

export const frames = {
  /** `source` dotted quad. */
  ipv4: (source: string, vlan = false) => frame(0x0800, ipv4Header(source), vlan),
  /** `source` in full 8-group form (no ::). */
  ipv6: (source: string) => frame(0x86dd, ipv6Header(source)),
  arp: () =>
    frame(0x0806, [0, 1, 0x08, 0, 6, 4, 0, 1, ...MAC_SRC, 10, 0, 0, 2, ...new Array<number>(6).fill(0), 10, 0, 0, 1]),
  batadv: () => frame(0x4305, []),
};
