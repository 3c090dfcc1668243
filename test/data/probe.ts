// Child-process helper of the permission tests: `probe.ts walk DIR` or `probe.ts decode FILE`, prints JSON.
import { decodeImage } from '../../src/data/decode.ts';
import { listImageFiles } from '../../src/data/walk.ts';

const [mode, path] = process.argv.slice(2);
if (mode === 'walk') {
  console.log(JSON.stringify(await listImageFiles(path!)));
} else {
  try {
    const px = await decodeImage(path!);
    console.log(JSON.stringify({ ok: px.length }));
  } catch (e) {
    console.log(JSON.stringify({ reason: (e as { reason?: string }).reason, message: (e as Error).message }));
  }
}
