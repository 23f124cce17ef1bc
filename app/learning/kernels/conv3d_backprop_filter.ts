import * as tf from '@tensorflow/tfjs';
import type { Conv3DBackpropFilterV2Attrs } from '@tensorflow/tfjs';
import { geomFrom3D } from './geometry.ts';
import { convBackpropFilter } from './lowered.ts';
import { asWasm, input, type WasmKernelArgs } from './wasm_heap.ts';

/** Conv3DBackpropFilterV2 for wasm: the built-in is wrong at stride 2 (test/unit/kernels3d.test.ts). */
export function conv3dBackpropFilter(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  const { strides, pad, filterShape } = args.attrs as unknown as Conv3DBackpropFilterV2Attrs;
  const ci = tf.backend_util.computeConv3DInfo(x.shape as [number, number, number, number, number], filterShape, strides, 1, pad);
  return convBackpropFilter(backend, geomFrom3D(ci), x, dy, filterShape);
}
