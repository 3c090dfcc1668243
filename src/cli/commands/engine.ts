import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

export const command: CommandModule<object, GlobalOptions> = {
  command: 'engine',
  describe: 'Show which tensor backend fdft would use on this machine, and where training steps and the frozen backbone run, and why',
  handler: async (argv) => {
    const { autoKeepsBackboneInTfjs, initEngine, tfjsUsesWholeMachine } = await import('../../engine/index.ts');
    const { onnxAvailable, onnxUnavailableReason } = await import('../../engine/onnxBackbone.ts');
    const { nchwcBlockSize, nchwcTurnedOff } = await import('../../train/onnx/nchwcBlock.ts');
    const { cpuInfo, describeCpu } = await import('../../util/cpuInfo.ts');
    const info = await initEngine(argv.backend, () => {});
    const ort = await onnxAvailable();
    // What `--train-engine auto` and `--engine auto` pick (runGradients.ts, onnxBackboneRunner.ts).
    const onnx = {
      available: ort,
      reason: ort ? 'onnxruntime-node loads' : await onnxUnavailableReason(),
      trainingStep: ort && !tfjsUsesWholeMachine(info.backend) ? 'onnx' : 'tfjs',
      frozenBackbone: ort && !autoKeepsBackboneInTfjs(info.backend) ? 'onnx' : 'tfjs',
      // Training graphs' depthwise convs on onnxruntime's NCHWc kernels (src/export/nchwc.ts): their channel block, or null.
      nchwcBlock: ort ? ((await nchwcBlockSize()) ?? null) : null,
    };
    if (argv.json) console.log(JSON.stringify({ ...info, onnxruntime: onnx, cpu: cpuInfo() }));
    else {
      console.log(`backend: ${info.backend}\nprovider: ${info.provider}\nreason: ${info.reason}`);
      console.log(`onnxruntime-node: ${ort ? 'loads' : `unavailable (${onnx.reason})`}`);
      const why = info.backend === 'webgpu' ? ' (on the GPU)' : info.backend === 'tensorflow' ? ' (tfjs-node is native already)' : '';
      console.log(`training step (--train-engine auto): ${onnx.trainingStep}${onnx.trainingStep === 'tfjs' && ort ? why : ''}`);
      if (ort) {
        const dw = onnx.nchwcBlock ? `onnxruntime's NCHWc kernels (channel block ${onnx.nchwcBlock})` : `plain Conv (${nchwcTurnedOff() ? 'FDFT_ONNX_NCHWC=0' : 'no working NCHWc kernels here'})`;
        console.log(`depthwise convs in training graphs: ${dw}`);
      }
      console.log(`frozen backbone, eval, predict, scoring (--engine auto): ${onnx.frozenBackbone}${ort && autoKeepsBackboneInTfjs(info.backend) ? ' (on the GPU, where its feature maps stay)' : ''}`);
      // onnxruntime's kernels follow the vector extensions: runs repeat bit for bit on the same kind.
      console.log(`cpu: ${describeCpu()}`);
    }
  },
};
