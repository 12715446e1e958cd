// Client-side photo quality hints, computed on the captured pixels before
// upload: too dark, blurry, glare, document too small. Heuristics on a
// downscaled grey image; they advise, the server decides.

const WORK_WIDTH = 320;

/** Grey levels (0..255) of an ImageData, downscaled to at most WORK_WIDTH columns. */
export function grey(imageData) {
  const { width, height, data } = imageData;
  const step = Math.max(1, Math.floor(width / WORK_WIDTH));
  const w = Math.floor(width / step);
  const h = Math.floor(height / step);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = ((y * step) * width + x * step) * 4;
      out[y * w + x] = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    }
  }
  return { w, h, px: out };
}

/** Brightness, sharpness (variance of the Laplacian), glare share and the share of the frame the document covers. */
export function measure(imageData) {
  const { w, h, px } = grey(imageData);
  let sum = 0;
  let bright = 0;
  for (const v of px) {
    sum += v;
    if (v >= 250) bright++;
  }
  const mean = sum / px.length;
  const median = [...px].sort((x, y) => x - y)[px.length >> 1];
  let lapSum = 0;
  let lapSq = 0;
  let n = 0;
  let minX = w, maxX = 0, minY = h, maxY = 0, edges = 0;
  const xs = [];
  const ys = [];
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const c = px[y * w + x];
      const lap = 4 * c - px[y * w + x - 1] - px[y * w + x + 1] - px[(y - 1) * w + x] - px[(y + 1) * w + x];
      lapSum += lap;
      lapSq += lap * lap;
      n++;
      if (Math.abs(lap) > 30) {
        edges++;
        xs.push(x);
        ys.push(y);
      }
    }
  }
  const lapMean = lapSum / Math.max(1, n);
  const sharpness = lapSq / Math.max(1, n) - lapMean * lapMean;
  let coverage = 0;
  if (edges > 20) {
    xs.sort((a, b) => a - b);
    ys.sort((a, b) => a - b);
    const q = (arr, f) => arr[Math.min(arr.length - 1, Math.floor(arr.length * f))];
    minX = q(xs, 0.005); maxX = q(xs, 0.995); minY = q(ys, 0.005); maxY = q(ys, 0.995);
    coverage = ((maxX - minX) * (maxY - minY)) / (w * h);
  }
  // Glare is a blown-out patch on a document that is otherwise not white:
  // a white card (or the white quiet zone of a barcode) is not glare.
  const glare = median < 200 ? bright / px.length : 0;
  return { brightness: mean, sharpness, glare, coverage };
}

/** The hint keys (strings.js) a measured photo deserves. */
export function hints(m, { document = true } = {}) {
  const out = [];
  if (m.brightness < 55) out.push('hintDark');
  if (m.sharpness < 20) out.push('hintBlurry');
  if (m.glare > 0.04) out.push('hintGlare');
  if (document && m.coverage < 0.25) out.push('hintSmall');
  return out;
}
