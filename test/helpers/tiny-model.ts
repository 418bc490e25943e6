import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeTinyModel } from "../../embedder/index.js";

/** Words of the RAG tests' texts, whole in the tiny model's vocabulary. */
const TEST_WORDS = `wifi antenna firmware upgrade reboot power supply battery solar panel ospf dns dhcp certificate
expired renew rotate channel interference congestion queue bufferbloat radio`.split(/\s+/);

/** A tiny BERT-format model folder under the system temp folder, with `words` in its vocabulary. */
export async function tinyModel(name = "x0-tiny-minilm", words: readonly string[] = TEST_WORDS): Promise<string> {
  const dir = join(process.env.TMPDIR ?? "/tmp", `x0-tiny-model-${String(process.pid)}`, name);
  await mkdir(dir, { recursive: true });
  await writeTinyModel(dir, { words });
  return dir;
}
