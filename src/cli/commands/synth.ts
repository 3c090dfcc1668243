import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

interface SynthArgs extends GlobalOptions {
  out: string;
  count: number;
  seed: number;
  size: number;
  strength: number;
  format: 'jpg' | 'png';
  overwrite: boolean;
  contactSheet?: string;
}

export const command: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'Write the procedural real-vs-fake face set (face-swap and GAN-upsampling traces) in the flat layout OUT/{real,fake}/',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'Output folder (created; must be empty unless --overwrite)' })
      .option('count', { type: 'number', default: 1500, describe: 'Images per class' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed: the same seed gives the same images' })
      .option('size', { type: 'number', default: 64, describe: 'Image side in px' })
      .option('strength', { type: 'number', default: 1, describe: 'Forgery trace strength: 1 = default; > 1 easier, < 1 harder to detect' })
      .option('format', { type: 'string', choices: ['jpg', 'png'] as const, default: 'jpg' as const, describe: 'File format (jpg: each image keeps its camera JPEG quality)' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'Replace a non-empty output folder' })
      .option('contact-sheet', { type: 'string', describe: 'Also write a PNG grid of the first 16 real (green frames) and 16 fake (red frames) images here' }) as never,
  handler: async (argv) => {
    const { synthesizeDataset, renderSyntheticSample } = await import('../../data/synthetic/synthesize.ts');
    const log = argv.quiet || argv.json ? () => {} : (m: string) => process.stderr.write(m);
    const r = await synthesizeDataset({
      out: argv.out,
      count: argv.count,
      seed: argv.seed,
      size: argv.size,
      strength: argv.strength,
      format: argv.format,
      overwrite: argv.overwrite,
      onProgress: (done, total) => {
        if (done % 500 === 0 || done === total) log(`\r${done}/${total} images`);
      },
    });
    log('\n');
    if (argv.contactSheet) {
      const { contactSheetPng } = await import('../../data/contactSheet.ts');
      const { writeFile } = await import('node:fs/promises');
      const n = Math.min(16, r.count);
      const images: Uint8Array[] = [];
      const labels: number[] = [];
      for (const label of [0, 1] as const) {
        for (let i = 0; i < n; i++) {
          images.push(renderSyntheticSample(r.seed, label, i, r.size, r.strength).rgb);
          labels.push(label);
        }
      }
      await writeFile(argv.contactSheet, await contactSheetPng(images, r.size, { cols: 8, labels, zoom: r.size < 96 ? 2 : 1, palette: true }));
    }
    if (argv.json) console.log(JSON.stringify(r));
    else {
      console.log(`${2 * r.count} images (${r.count} real, ${r.count} fake: ${r.kinds.swap} face swap, ${r.kinds.gan} GAN, ${r.kinds['swap+gan']} both) in ${r.out}`);
      console.log(`${(r.ms / 1000).toFixed(1)} s${argv.contactSheet ? `; contact sheet ${argv.contactSheet}` : ''}`);
    }
  },
};
