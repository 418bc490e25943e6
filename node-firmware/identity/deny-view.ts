import type { DenyList } from "../../protocol/index.js";

/** Fast membership view of a deny list, by SPIFFE ID and by certificate serial (lower-case hex). */
export class DenyView {
  private ids = new Set<string>();
  private serials = new Set<string>();

  update(list: DenyList): void {
    this.ids = new Set(list.entries.flatMap((e) => (e.spiffeId ? [e.spiffeId] : [])));
    this.serials = new Set(list.entries.flatMap((e) => (e.serial ? [e.serial.toLowerCase()] : [])));
  }

  denies(spiffeId: string, serial?: string): boolean {
    return this.ids.has(spiffeId) || (serial !== undefined && this.serials.has(serial.toLowerCase()));
  }
}
