/**
 * A tiny fully-convolutional tfjs layers model saved as model.json +
 * weights.bin, usable from the CLI as `--backbone layers:PATH#r1,r2`: CLI
 * tests train in a second or two instead of loading MobileNetV2.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

/** Writes the model into `dir` and returns the backbone option value. */
export async function writeTinyLayersBackbone(dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const input = tf.input({ shape: [null, null, 3], name: 'image' });
  const conv = (x: tf.SymbolicTensor, filters: number, name: string): tf.SymbolicTensor =>
    tf.layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', name, kernelInitializer: tf.initializers.glorotUniform({ seed: filters }) }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, name: string): tf.SymbolicTensor => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
  const r1 = relu(conv(input, 8, 'c1'), 'r1');
  const r2 = relu(conv(r1, 12, 'c2'), 'r2');
  const model = tf.model({ inputs: input, outputs: r2, name: 'tiny_cli_backbone' });
  await model.save(
    tf.io.withSaveHandler(async (art) => {
      const json = { format: 'layers-model', modelTopology: art.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }] };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(art.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return `layers:${path.join(dir, 'model.json')}#r1,r2`;
}
