// Builds the training graph of a forward model: the forward pass in training mode (batch-norm
// batch statistics, dropout masks), an optional built-in loss, and reverse-mode gradients of the
// loss with respect to every trainable initializer, all as standard ONNX ops run by onnxruntime.
//
// Trainable initializers and batch-norm running statistics become graph inputs, so a trainer keeps
// weights in memory and feeds them each step; gradients come out as `grad.<name>`, new running
// statistics as `state.<name>`.
import { DataType } from '../ir/data-type.js';
import { opsetVersion } from '../ir/graph.js';
import type { Attribute, Graph, Model, Node, ValueInfo } from '../ir/types.js';
import { Emitter } from './emitter.js';
import { GradientGraphError, NoGradientRuleError } from './errors.js';
import { gradientRules, nonDifferentiableInputs, nonDifferentiableOps } from './gradient-rules.js';
import { LOSS_OUTPUT, appendLoss } from './losses.js';
import type { LossInput, LossSpec } from './losses.js';
import type { GradContext, LowerContext, TrainingModeOptions } from './rule-types.js';
import { staticShapes } from './static-shapes.js';
import { removeDeadCode } from '../passes/remove-dead-code.js';
import type { StaticInfo } from './static-shapes.js';

export interface TrainingGraphOptions {
  /** A scalar forward value to minimize, or a built-in loss appended to the graph. */
  loss: string | LossSpec;
  /** Initializers to train; default: every float initializer some op reads at a differentiable input. */
  trainable?: string[];
  /** Replaces a symbolic / unknown first dim of every graph input. */
  batchSize?: number;
  /** Concrete shapes for graph inputs (wins over batchSize). */
  inputShapes?: Record<string, number[]>;
  batchNorm?: TrainingModeOptions['batchNorm'];
  dropout?: TrainingModeOptions['dropout'];
  /** Seed of dropout masks (default 0). */
  seed?: number;
  /** Forward values to expose as extra outputs (e.g. logits for training accuracy). */
  extraOutputs?: string[];
}

export interface TrainingValue {
  name: string;
  elemType: number;
  shape: number[];
}

export interface StateUpdate {
  /** Graph input holding the current state (e.g. a running mean). */
  input: string;
  /** Graph output holding its new value after the step. */
  output: string;
}

export interface TrainingGraph {
  model: Model;
  lossName: string;
  /** Trainable weights, now graph inputs, in a stable order. */
  trainable: TrainingValue[];
  /** Trainable name -> gradient output name. */
  gradientNames: Record<string, string>;
  stateUpdates: StateUpdate[];
  /** Inputs fed per batch: the model's inputs plus labels / teacher logits / targets of the loss. */
  dataInputs: TrainingValue[];
  /** Named loss terms exposed as outputs (`loss.<term>`). */
  lossTerms: Record<string, string>;
}

const GRAD_PREFIX = 'grad.';
const STATE_PREFIX = 'state.';

function allNames(graph: Graph): Set<string> {
  const names = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.map((t) => t.name)]);
  for (const n of graph.nodes) for (const o of n.outputs) names.add(o);
  return names;
}

function resolveInputShapes(graph: Graph, options: TrainingGraphOptions): Record<string, number[]> {
  const initializers = new Set(graph.initializers.map((t) => t.name));
  const shapes: Record<string, number[]> = {};
  for (const v of graph.inputs) {
    if (initializers.has(v.name) || v.type?.kind !== 'tensor' || !v.type.shape) continue;
    const given = options.inputShapes?.[v.name];
    if (given) shapes[v.name] = [...given];
    else {
      shapes[v.name] = v.type.shape.map((d, i) => {
        if (typeof d === 'number' && d > 0) return d;
        if (i === 0 && options.batchSize) return options.batchSize;
        throw new GradientGraphError(`input '${v.name}' dim ${i} is not static; pass inputShapes or batchSize`);
      });
    }
  }
  return shapes;
}

function isDifferentiableUse(node: Node, index: number): boolean {
  return !nonDifferentiableOps.has(node.opType) && !(nonDifferentiableInputs[node.opType] ?? []).includes(index);
}

function defaultTrainable(graph: Graph): string[] {
  const floats = new Set(graph.initializers.filter((t) => t.dataType === DataType.FLOAT || t.dataType === DataType.DOUBLE).map((t) => t.name));
  const used = new Set<string>();
  for (const node of graph.nodes) node.inputs.forEach((name, i) => floats.has(name) && isDifferentiableUse(node, i) && used.add(name));
  return graph.initializers.map((t) => t.name).filter((n) => used.has(n));
}

function attrGetters(node: Node): Pick<GradContext, 'attrInt' | 'attrInts' | 'attrFloat' | 'attrString'> {
  const get = (name: string): Attribute | undefined => node.attributes[name];
  const num = (v: number | bigint): number => Number(v);
  return {
    attrInt: (name, fallback) => { const a = get(name); return a?.type === 'int' ? num(a.value) : fallback; },
    attrInts: (name) => { const a = get(name); return a?.type === 'ints' ? a.value.map(num) : undefined; },
    attrFloat: (name, fallback) => { const a = get(name); return a?.type === 'float' ? a.value : a?.type === 'int' ? num(a.value) : fallback; },
    attrString: (name, fallback) => { const a = get(name); return a?.type === 'string' ? new TextDecoder().decode(a.value) : fallback; },
  };
}

function tensorValueInfo(name: string, info: { elemType: number; shape: number[] }): ValueInfo {
  return { name, type: { kind: 'tensor', elemType: info.elemType, shape: [...info.shape] } };
}

/** Builds the training graph; does not mutate `model`. */
export function buildTrainingGraph(model: Model, options: TrainingGraphOptions): TrainingGraph {
  const opset = opsetVersion(model, '') ?? 1;
  if (opset < 11) throw new GradientGraphError(`opset ${opset} is too old for gradient graphs (need >= 11)`);
  const source = model.graph;
  const inputShapes = resolveInputShapes(source, options);
  const forwardShapes = staticShapes(model, inputShapes);
  const names = allNames(source);

  // 1. Forward graph plus loss.
  let lossName: string;
  let lossInputs: LossInput[] = [];
  let lossTerms: Record<string, string> = {};
  let nodes = [...source.nodes];
  let initializers = [...source.initializers];
  if (typeof options.loss === 'string') {
    lossName = options.loss;
    if (!forwardShapes.has(lossName)) throw new GradientGraphError(`loss value '${lossName}' is not in the graph`);
  } else {
    if (names.has(LOSS_OUTPUT)) throw new GradientGraphError(`the model already has a value named '${LOSS_OUTPUT}'`);
    const lossType = forwardShapes.get(options.loss.kind === 'mse' ? options.loss.output : options.loss.logits)?.elemType ?? DataType.FLOAT;
    const lossEmitter = new Emitter(opset, lossType, 'loss', names);
    const appended = appendLoss(lossEmitter, options.loss, forwardShapes);
    lossName = appended.loss;
    lossInputs = appended.inputs;
    lossTerms = appended.terms;
    nodes = [...nodes, ...lossEmitter.nodes];
    initializers = [...initializers, ...lossEmitter.initializers];
    for (const input of lossInputs) inputShapes[input.name] = input.shape;
  }
  const combined: Model = {
    ...model,
    graph: {
      ...source,
      nodes,
      initializers,
      inputs: [...source.inputs, ...lossInputs.map((i) => tensorValueInfo(i.name, i))],
    },
  };
  const shapes = staticShapes(combined, inputShapes);
  const shapeOf = (value: string): number[] => {
    const info = shapes.get(value);
    if (!info) throw new GradientGraphError(`no shape for value '${value}'`);
    return info.shape;
  };
  const lossInfo = shapes.get(lossName) as StaticInfo;
  const floatType = lossInfo.elemType;

  // 2. Which values depend on trainable weights, and which lead to the loss.
  const initializerNames = new Set(initializers.map((t) => t.name));
  const trainable = options.trainable ?? defaultTrainable(source);
  for (const name of trainable) {
    const t = initializers.find((i) => i.name === name);
    if (!t) throw new GradientGraphError(`trainable '${name}' is not an initializer`);
    if (t.dataType !== floatType) throw new GradientGraphError(`trainable '${name}' is not of the loss's float type`);
  }
  const requiresGrad = new Set<string>(trainable);
  for (const node of nodes) {
    if (nonDifferentiableOps.has(node.opType)) continue;
    if (node.inputs.some((name, i) => name !== '' && requiresGrad.has(name) && isDifferentiableUse(node, i))) {
      for (const o of node.outputs) if (o !== '') requiresGrad.add(o);
    }
  }
  const leadsToLoss = new Set<string>([lossName]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (nodes[i].outputs.some((o) => leadsToLoss.has(o))) for (const input of nodes[i].inputs) leadsToLoss.add(input);
  }
  const isActive = (node: Node): boolean =>
    !nonDifferentiableOps.has(node.opType) &&
    node.inputs.some((name, i) => name !== '' && requiresGrad.has(name) && isDifferentiableUse(node, i)) &&
    node.outputs.some((o) => leadsToLoss.has(o));

  // 3. Training-mode forward.
  const modeOptions: TrainingModeOptions = { batchNorm: options.batchNorm ?? 'train', dropout: options.dropout ?? 'mask', seed: options.seed ?? 0 };
  const e = new Emitter(opset, floatType, 'ad', allNames(combined.graph));
  const saved = new Map<Node, Record<string, string>>();
  const stateUpdates: StateUpdate[] = [];
  const stateInputs = new Set<string>();
  const constantValues = (name: string): number[] | undefined => {
    const t = initializers.find((i) => i.name === name);
    if (!t || t.dims.reduce((a, b) => a * b, 1) > 64) return undefined;
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const count = t.dims.reduce((a, b) => a * b, 1);
    const read = (k: number): number => {
      switch (t.dataType) {
        case DataType.FLOAT: return view.getFloat32(4 * k, true);
        case DataType.DOUBLE: return view.getFloat64(8 * k, true);
        case DataType.INT64: return Number(view.getBigInt64(8 * k, true));
        case DataType.INT32: return view.getInt32(4 * k, true);
        default: return NaN;
      }
    };
    return Array.from({ length: count }, (_, k) => read(k));
  };
  const baseContext = (node: Node): Omit<GradContext, 'dy' | 'needsGrad' | 'saved'> => ({
    node, emit: e, opset, shape: shapeOf, ...attrGetters(node),
    constantInput: (i) => (node.inputs[i] ? constantValues(node.inputs[i]) : undefined),
    fail: (reason) => { throw new GradientGraphError(`${node.opType} node '${node.name}': ${reason}`); },
  });
  nodes.forEach((node, nodeIndex) => {
    const rule = gradientRules[node.opType];
    const lower = rule?.lowerForTraining;
    if (lower && (node.opType !== 'MaxPool' || isActive(node))) {
      const ctx: LowerContext = {
        ...baseContext(node), options: modeOptions, nodeIndex,
        stateUpdate: (input, value) => {
          if (!initializerNames.has(input)) return;
          stateInputs.add(input);
          stateUpdates.push({ input, output: e.opInto(`${STATE_PREFIX}${input}`, 'Identity', [value]) });
        },
      };
      saved.set(node, lower(ctx) ?? {});
    } else e.nodes.push(node);
  });

  // 4. Reverse pass.
  const contributions = new Map<string, string[]>();
  const add = (value: string, grad: string): void => {
    const list = contributions.get(value);
    if (list) list.push(grad);
    else contributions.set(value, [grad]);
  };
  const summed = (value: string): string | undefined => {
    const list = contributions.get(value);
    if (!list || list.length === 0) return undefined;
    const total = e.sum(list);
    contributions.set(value, [total]);
    return total;
  };
  const lossCount = lossInfo.shape.reduce((a, b) => a * b, 1);
  add(lossName, e.float(new Array<number>(lossCount).fill(1), [...lossInfo.shape]));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!isActive(node) || !node.outputs.some((o) => contributions.has(o))) continue;
    const rule = gradientRules[node.opType];
    if (!rule || (node.domain !== '' && node.domain !== 'ai.onnx')) throw new NoGradientRuleError(node.opType, node.name);
    const ctx: GradContext = {
      ...baseContext(node),
      saved: saved.get(node) ?? {},
      dy: (k = 0) => (node.outputs[k] ? summed(node.outputs[k]) : undefined),
      needsGrad: (k) => node.inputs[k] !== undefined && node.inputs[k] !== '' && requiresGrad.has(node.inputs[k]) && isDifferentiableUse(node, k),
    };
    const grads = rule.backward(ctx);
    grads.forEach((g, k) => {
      if (g !== undefined && ctx.needsGrad(k)) add(node.inputs[k], g);
    });
  }

  // 5. Outputs and graph assembly.
  const gradientNames: Record<string, string> = {};
  const trainableValues: TrainingValue[] = trainable.map((name) => ({ name, elemType: floatType, shape: shapeOf(name) }));
  for (const p of trainableValues) {
    const g = summed(p.name) ?? e.zeros(p.shape);
    gradientNames[p.name] = e.opInto(`${GRAD_PREFIX}${p.name}`, 'Identity', [g]);
  }
  const lossTermOutputs: Record<string, string> = {};
  for (const [term, value] of Object.entries(lossTerms)) lossTermOutputs[term] = e.opInto(`${LOSS_OUTPUT}.${term}`, 'Identity', [value]);
  const trainableSet = new Set(trainable);
  const declaredInputs = new Set(combined.graph.inputs.map((v) => v.name));
  const dataInputs: TrainingValue[] = combined.graph.inputs
    .filter((v) => !initializerNames.has(v.name))
    .map((v) => ({ name: v.name, elemType: shapes.get(v.name)?.elemType ?? floatType, shape: shapeOf(v.name) }));
  const stateValues: TrainingValue[] = [...stateInputs].map((name) => ({ name, elemType: floatType, shape: shapeOf(name) }));
  const outputs: ValueInfo[] = [
    tensorValueInfo(lossName, lossInfo),
    ...Object.values(lossTermOutputs).map((name) => tensorValueInfo(name, { elemType: floatType, shape: [] })),
    ...trainableValues.map((p) => tensorValueInfo(gradientNames[p.name], p)),
    ...stateUpdates.map((s) => tensorValueInfo(s.output, { elemType: floatType, shape: shapeOf(s.input) })),
    ...(options.extraOutputs ?? []).map((name) => tensorValueInfo(name, shapes.get(name) ?? { elemType: floatType, shape: [] })),
  ];
  for (const name of options.extraOutputs ?? []) if (!shapes.has(name)) throw new GradientGraphError(`extra output '${name}' is not in the graph`);
  const graph: Graph = {
    name: `${source.name}_training`,
    nodes: e.nodes,
    inputs: [
      ...dataInputs.map((v) => tensorValueInfo(v.name, v)),
      ...trainableValues.filter((v) => !declaredInputs.has(v.name)).map((v) => tensorValueInfo(v.name, v)),
      ...stateValues.filter((v) => !trainableSet.has(v.name)).map((v) => tensorValueInfo(v.name, v)),
    ],
    outputs,
    initializers: [...initializers.filter((t) => !trainableSet.has(t.name) && !stateInputs.has(t.name)), ...e.initializers],
    valueInfo: [],
  };
  return {
    // Forward nodes that feed neither the loss nor an output (other heads, unused ratios) are dropped.
    model: removeDeadCode({ ...model, graph, metadataProps: [...model.metadataProps] }).model,
    lossName,
    trainable: trainableValues,
    gradientNames,
    stateUpdates,
    dataInputs,
    lossTerms: lossTermOutputs,
  };
}
