// The last step of preprocessing for the browser, where sharp does not exist: RGBA pixels (from a
// canvas already drawn at the model's size) to the input tensor the manifest describes. Same
// arithmetic as the Node Preprocessor: one 256-entry table per channel holding
// (p * scale - mean[c]) / std[c] in float32, and BT.601 integer luma for GRAY.
// Free of Node APIs so a web page can import it.

export interface ImagePreprocessing {
  width: number;
  height: number;
  colorOrder: 'RGB' | 'BGR' | 'GRAY';
  layout: 'NCHW' | 'NHWC';
  dtype: 'float32' | 'uint8';
  scale: number;
  mean: number[];
  std: number[];
}

function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

function normalisationTables(pre: ImagePreprocessing, channels: number): Float32Array[] {
  const tables: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const mean = pre.mean.length === 1 ? pre.mean[0]! : pre.mean[c]!;
    const std = pre.std.length === 1 ? pre.std[0]! : pre.std[c]!;
    const table = new Float32Array(256);
    for (let p = 0; p < 256; p++) table[p] = (p * pre.scale - mean) / std;
    tables.push(table);
  }
  return tables;
}

/** Converts RGBA pixels of exactly pre.width x pre.height into the model's input tensor data. */
export function rgbaToTensor(rgba: ArrayLike<number>, width: number, height: number, pre: ImagePreprocessing): Float32Array | Uint8Array {
  if (width !== pre.width || height !== pre.height) {
    throw new Error(`rgbaToTensor: image is ${width}x${height}, the model wants ${pre.width}x${pre.height}; draw it at that size first`);
  }
  const count = width * height;
  if (rgba.length < count * 4) throw new Error(`rgbaToTensor: ${rgba.length} bytes is not ${width}x${height} RGBA`);
  const channels = pre.colorOrder === 'GRAY' ? 1 : 3;
  const order = pre.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const out = pre.dtype === 'uint8' ? new Uint8Array(count * channels) : new Float32Array(count * channels);
  const tables = pre.dtype === 'float32' ? normalisationTables(pre, channels) : null;
  for (let i = 0; i < count; i++) {
    const s = i * 4;
    if (channels === 1) {
      const y = luma(rgba[s]!, rgba[s + 1]!, rgba[s + 2]!);
      out[i] = tables ? tables[0]![y]! : y;
      continue;
    }
    for (let c = 0; c < 3; c++) {
      const p = rgba[s + order[c]!]!;
      const at = pre.layout === 'NCHW' ? c * count + i : i * 3 + c;
      out[at] = tables ? tables[c]![p]! : p;
    }
  }
  return out;
}
