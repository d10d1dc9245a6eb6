// Shape inference against the ONNX backend test corpus: with declared output shapes erased, the
// inferred output types must agree with the shipped reference outputs' dims and element types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, decodeTensor, inferShapes, loadModel } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';

const CORPUS = '/usr/share/libonnx-testdata/data';

function eraseOutputShapes(model: Model): Model {
  const outputs = model.graph.outputs.map((o) => (o.type?.kind === 'tensor' ? { ...o, type: { ...o.type, shape: null } } : o));
  return { ...model, graph: { ...model.graph, valueInfo: [], outputs } };
}

test('inferred output shapes match the corpus reference outputs', async () => {
  let compared = 0;
  let models = 0;
  const wrong: string[] = [];
  for (const suite of ['node', 'pytorch-converted', 'pytorch-operator', 'simple']) {
    const suiteDir = join(CORPUS, suite);
    if (!existsSync(suiteDir)) continue;
    for (const name of readdirSync(suiteDir).sort()) {
      const dir = join(suiteDir, name);
      const dataset = readdirSync(dir).find((d) => d.startsWith('test_data_set_'));
      if (!dataset || !existsSync(join(dir, 'model.onnx'))) continue;
      const { model, issues } = inferShapes(eraseOutputShapes(await loadModel(join(dir, 'model.onnx'))));
      assert.ok(issues.every((i) => i.includes('no shape handler')), `${dir}: ${issues.join('; ')}`);
      let counted = false;
      model.graph.outputs.forEach((o, i) => {
        const file = join(dir, dataset, `output_${i}.pb`);
        if (o.type?.kind !== 'tensor' || o.type.shape === null || !existsSync(file)) return;
        const ref = decodeTensor(readFileSync(file));
        const shape = o.type.shape;
        compared++;
        counted = true;
        const dimsAgree = shape.length === ref.dims.length && shape.every((d, k) => typeof d !== 'number' || d === ref.dims[k]);
        // The corpus stores bfloat16 reference outputs as uint16.
        const typeAgrees = o.type.elemType === ref.dataType || (o.type.elemType === DataType.BFLOAT16 && ref.dataType === DataType.UINT16);
        if (!dimsAgree || !typeAgrees) wrong.push(`${dir} output ${i}: inferred ${JSON.stringify(shape)} type ${o.type.elemType}, reference ${JSON.stringify(ref.dims)} type ${ref.dataType}`);
      });
      if (counted) models++;
    }
  }
  console.log(`ir-shapes: ${compared} outputs of ${models} corpus models inferred from scratch; ${wrong.length} disagree with the reference`);
  assert.deepEqual(wrong, []);
  assert.ok(compared > 300);
});
