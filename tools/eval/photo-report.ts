// Markdown for `tools eval --images`: per colour mode a PSNR / SSIM table (methods by sigma, with time), the colour shift and the tuned parameters.
import type { ColourMode, PhotoColourResult, PhotoEvalResult } from './photo-eval.js';

const COLOUR_TITLES: Readonly<Record<ColourMode, string>> = Object.freeze({ rgb: 'RGB', grey: 'Grey' });

/** The picture grid's file name for a colour mode and sigma. */
export function photoGridName(colour: ColourMode, sigma: number): string {
  return `eval-${colour}-sigma${sigma}.png`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** The methods of a colour mode in table order (every sigma holds the same ones). */
function methods(colour: PhotoColourResult): string[] {
  return colour.sigmas[0]?.scores.map((s) => s.method) ?? [];
}

/**
 * The PSNR / SSIM table of one colour mode: a row per method, a column per sigma (`PSNR dB / SSIM`, the best
 * PSNR of each column in bold, ignoring the noisy input), and the mean seconds per megapixel over the sigmas.
 */
export function photoScoreTable(colour: PhotoColourResult): string {
  const names = methods(colour);
  const best = colour.sigmas.map(({ scores }) => Math.max(...scores.filter((s) => s.kind !== 'input').map((s) => s.psnr)));
  const lines = [row(['method', ...colour.sigmas.map((s) => `σ ${s.sigma}`), 's/MP']), row(['---', ...colour.sigmas.map(() => '---:'), '---:'])];
  names.forEach((method, m) => {
    const cells = colour.sigmas.map(({ scores }, i) => {
      const s = scores[m]!;
      const body = `${s.psnr.toFixed(2)} dB / ${s.ssim === null ? 'n/a' : s.ssim.toFixed(3)}`;
      return s.kind !== 'input' && s.psnr === best[i] ? `**${body}**` : body;
    });
    const times = colour.sigmas.map(({ scores }) => scores[m]!.secondsPerMegapixel).filter((t): t is number => t !== null);
    const time = times.length ? (times.reduce((a, b) => a + b, 0) / times.length).toFixed(2) : '';
    lines.push(row([method, ...cells, time]));
  });
  return lines.join('\n');
}

/** The colour-shift table of one colour mode, in 8-bit levels: a "clean" column (the models on the clean photos), then each sigma. */
export function photoShiftTable(colour: PhotoColourResult): string {
  const lines = [row(['method', 'clean', ...colour.sigmas.map((s) => `σ ${s.sigma}`)]), row(['---', '---:', ...colour.sigmas.map(() => '---:')])];
  for (const [m, method] of methods(colour).entries()) {
    const clean = colour.clean.find((c) => c.method === method);
    lines.push(row([method, clean ? clean.colourShift.toFixed(2) : '', ...colour.sigmas.map(({ scores }) => scores[m]!.colourShift.toFixed(2))]));
  }
  return lines.join('\n');
}

/** The tuned parameters of one colour mode: a row per baseline, a column per sigma. */
export function photoParamsTable(colour: PhotoColourResult): string {
  const baselines = colour.sigmas[0]?.scores.filter((s) => s.kind === 'classical').map((s) => s.method) ?? [];
  if (baselines.length === 0) return '';
  const lines = [row(['baseline', ...colour.sigmas.map((s) => `σ ${s.sigma}`)]), row(['---', ...colour.sigmas.map(() => '---')])];
  for (const method of baselines) lines.push(row([method, ...colour.sigmas.map(({ scores }) => scores.find((s) => s.method === method)!.paramsText ?? '')]));
  return lines.join('\n');
}

/** The whole eval.md of a photo evaluation. */
export function photoReport(result: PhotoEvalResult): string {
  const lines = [
    `# tools eval: ${result.source}`,
    '',
    `Gaussian noise at σ ${result.sigmas.join(', ')} on the 0..255 scale: clip(x + σ/255 N(0, 1), 0, 1) rounded to 8 bits, seed ${result.seed}. ` +
      'Mean per-photo PSNR (dB) / SSIM (11x11 Gaussian window, sigma 1.5) against the clean photos; every output clipped to [0, 1]; ' +
      `s/MP: seconds per megapixel of denoising on this machine (tuning not included). The classical baselines are ${result.tuning.note}. ` +
      'Colour shift: the mean over photos of the largest |mean(output_c) - mean(clean_c)| over the channels, in 8-bit levels; ' +
      'the "clean" column runs the models on the clean photos.',
    '',
    ...result.models.map((m) => `- ${m.name}: ${m.file} (trained for ${m.trainedFor}; run on ${m.device})`),
    ...(result.models.length ? [''] : []),
  ];
  for (const colour of result.colours) {
    lines.push(`## ${COLOUR_TITLES[colour.colour]}: ${colour.photos.length} photo(s), ${colour.megapixels.toFixed(2)} MP`, '', photoScoreTable(colour), '');
    lines.push('Colour shift (8-bit levels):', '', photoShiftTable(colour), '');
    const params = photoParamsTable(colour);
    if (params) lines.push('Tuned parameters:', '', params, '');
    lines.push(...colour.sigmas.map((s) => `![${colour.colour} σ ${s.sigma}](${photoGridName(colour.colour, s.sigma)})`), '');
  }
  lines.push(`Evaluation time: ${result.seconds.toFixed(1)} s.`, '');
  return lines.join('\n');
}
