const mod = await import('/work/main/runtime-node/dist/denoiser.js');
const sharp = (await import('sharp')).default;
const { data, info } = await sharp('/tmp/sp/p.jpg').raw().toBuffer({ resolveWithObject: true });
const image = { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
const threads = Number(process.argv[2] || 2);
const t0 = performance.now();
const d = await mod.Denoiser.create({ model: 'photo-denoiser', device: 'cpu', sigma: 15, threads });
console.log('create', (performance.now() - t0).toFixed(0), 'lanes', d.lanes);
for (let i = 0; i < 2; i++) {
  const s = performance.now(); const marks = [];
  const core = d; 
  // onTile is not public on Denoiser; time the whole call and the rows
  await d.denoise(image, { onRows: (_r, y0, rows) => marks.push(Math.round(performance.now() - s)) });
  console.log('call', i, Math.round(performance.now() - s), 'ms; bands at', marks.join(' '));
}
await d.dispose();
