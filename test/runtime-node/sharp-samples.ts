// sharp's decode of a PNG as plain samples: the independent reader the PNG tests compare with.
import sharp from 'sharp';

/** sharp's decode of a PNG as samples, as readImage's sharp path does it. */
export async function sharpSamples(png: Uint8Array, sixteen: boolean, channels: number): Promise<number[]> {
  // sharp's 8-bit 'b-w' raw output keeps only the grey band: grey + alpha is read as RGBA and narrowed to (R, A).
  const greyAlpha8 = channels === 2 && !sixteen;
  const pipeline = sharp(png).toColourspace(channels <= 2 && !greyAlpha8 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb');
  const { data } = await (sixteen ? pipeline.raw({ depth: 'ushort' }) : pipeline.raw()).toBuffer({ resolveWithObject: true });
  const values = Array.from(sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data);
  return greyAlpha8 ? values.filter((_, i) => i % 4 === 0 || i % 4 === 3) : values;
}
