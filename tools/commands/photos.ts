// `tools photos`: assembles the photo set of models/photo-set/manifest.json (Debian packages, checksummed) into a folder.
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { shippedModelFile } from '../io/package-files.js';
import { assemblePhotoSet, readPhotoManifest } from '../data/photo-set.js';

interface PhotosArgs {
  manifest: string;
  out: string;
  cache: string;
}

/** The `photos` command. */
export const photosCommand: CommandModule<object, PhotosArgs> = {
  command: 'photos',
  describe: 'Assemble the training and validation photos (Debian wallpaper packages and scikit-image data, licences in the manifest) into a folder of PNGs',
  builder: (y) =>
    y
      .option('manifest', { type: 'string', default: shippedModelFile('photo-set/manifest.json'), describe: 'the photo manifest' })
      .option('out', { type: 'string', default: path.join('.cache', 'photo-set'), describe: 'output folder (train/, val/, SOURCES.md)' })
      .option('cache', { type: 'string', default: path.join('.cache', 'debs'), describe: 'where the .deb packages are downloaded and unpacked' }) as never,
  handler: async (args) => {
    const manifest = await readPhotoManifest(args.manifest);
    const result = await assemblePhotoSet({ manifest, out: args.out, cache: args.cache, onLine: (t) => process.stderr.write(`${t}\n`) });
    process.stdout.write(
      `${result.written} photos (${result.sourceMegapixels.toFixed(1)} MP as shipped) in ${args.out}: train ${result.megapixels.train.toFixed(1)} MP, val ${result.megapixels.val.toFixed(1)} MP after downscaling; licences in ${path.join(args.out, 'SOURCES.md')}\n` +
        `train on it: npx tools train --dataset folder:${args.out} ...\n`,
    );
  },
};
