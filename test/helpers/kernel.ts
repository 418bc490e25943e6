import { execFileSync } from "node:child_process";

/** Why the kernel tests cannot run here, or null when they can. */
export function kernelTestsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (BPF and network namespaces)";
  for (const tool of ["bpftool", "ip", "clang"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed (npm test's pre-test step installs it as root)`;
    }
  }
  return null;
}

export { peerNamespace, vethPair } from "../../lab/netns.js";

/** A BTF type as `bpftool -j btf dump` prints it, as far as the layout checks read it. */
export interface BtfType {
  kind: string;
  name?: string;
  size?: number;
  members?: { name: string; bits_offset: number }[];
}

/** The BTF types of a built BPF object. */
export function btfTypes(objectPath: string): BtfType[] {
  const dump = JSON.parse(execFileSync("bpftool", ["-j", "btf", "dump", "file", objectPath], { encoding: "utf8" })) as {
    types: BtfType[];
  };
  return dump.types;
}

/** Each struct's size and members' byte offsets, as the object's BTF has them: what the loader's layouts must match. */
export function structLayouts(types: readonly BtfType[], structs: readonly { struct: string }[]) {
  return structs.map(({ struct }) => {
    const type = types.find((t) => t.kind === "STRUCT" && t.name === struct);
    const at = Object.fromEntries((type?.members ?? []).map((m) => [m.name, m.bits_offset / 8]));
    return { struct, size: type?.size, at };
  });
}
