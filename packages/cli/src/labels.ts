// The --labels flag of the commands that write a bundle (compile, bundle create): a file with one
// label per line, or a comma-separated list.
import { readFile, stat } from 'node:fs/promises';

/** Labels from a file (one per line) when `spec` names one, else a comma-separated list; blank entries dropped. */
export async function readLabels(spec: string): Promise<string[]> {
  const isFile = await stat(spec).then((s) => s.isFile(), () => false);
  const items = isFile ? (await readFile(spec, 'utf8')).split(/\r?\n/) : spec.split(',');
  return items.map((l) => l.trim()).filter((l) => l.length > 0);
}
