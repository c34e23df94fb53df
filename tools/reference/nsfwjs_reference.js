// Independent reference for `gaze classify`: what the real nsfwjs 4.4.0 (TensorFlow.js 4.22.0, pure-JS CPU
// backend) computes for every image in tests/fixtures/images, with both bundled Keras models.
//
// Setup and run (see README.md):  cd tools/reference && npm ci && node nsfwjs_reference.js
// Writes tests/fixtures/nsfwjs_reference.json and tests/fixtures/npy/<stem>_<model>.npy.
//
// Per image:
//   decode with pure-JS decoders (jpeg-js for JPEG, pngjs for PNG) to H x W x 3 uint8 RGB:
//     - greyscale -> R = G = B = grey (replication)
//     - alpha     -> composited over white: out = round((A*c + (255-A)*255) / 255), computed exactly in
//                    integers as floor((A*c + (255-A)*255 + 127) / 255). Round-half cases cannot occur
//                    (255 is odd), so every "round to nearest" gives the same bytes.
//   rgb_sha256 = sha256 of those H*W*3 bytes (row-major, RGB interleaved).
// Per image and model:
//   probs_image: nsfwjs's own model.infer(int32 tensor3d [H,W,3]) (= /255, then resizeBilinear
//                alignCorners=true only when H or W != size, then reshape [1,s,s,3], then predict).
//   npy:         the same preprocessed tensor, computed here with the same tfjs ops, written as float32
//                .npy (v1.0, '<f4', C order, shape (s, s, 3)).
//   probs_npy:   the .npy file read back from disk, as a [1,s,s,3] tensor, through the same
//                LayersModel's predict().
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const tf = require('@tensorflow/tfjs');
const nsfwjs = require('nsfwjs');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');
const { checkPinned, checkLittleEndian, writeNpyF32, readNpyF32 } = require('./ref_util');

const HERE = __dirname;
const FIXTURES = path.resolve(HERE, '..', '..', 'tests', 'fixtures');
const IMAGES = path.join(FIXTURES, 'images');
const NPY_DIR = path.join(FIXTURES, 'npy');
const OUT_JSON = path.join(FIXTURES, 'nsfwjs_reference.json');

const CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];   // nsfwjs NSFW_CLASSES, index order
const MODELS = [
  { key: 'inception_v3', name: 'InceptionV3', size: 299 },
  { key: 'mobilenet_v2', name: 'MobileNetV2', size: 224 },
];

// Refuse to run with anything but the pinned versions: the reference is only meaningful for them.
const PINNED = checkPinned({ nsfwjs: '4.4.0', buffer: '6.0.3', 'jpeg-js': '0.4.4', pngjs: '7.0.0' });
checkLittleEndian();
if (globalThis.model !== undefined) throw new Error('a global named "model" would hijack nsfwjs getModelJson');

// ---------------------------------------------------------------------------------------------- decode

function decodeToRgb(file) {
  const buf = fs.readFileSync(file);
  const isPng = buf.length >= 8 && buf.slice(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const isJpeg = buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
  if (isJpeg) {
    // formatAsRGBA:false -> 3 bytes per pixel; a 1-component (greyscale) JPEG comes out replicated to RGB.
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false });
    if (img.data.length !== img.width * img.height * 3) throw new Error(`${file}: unexpected jpeg-js output size`);
    return { width: img.width, height: img.height, rgb: Uint8Array.from(img.data), decoder: `jpeg-js ${PINNED['jpeg-js']}`, note: 'jpeg' };
  }
  if (isPng) {
    // pngjs always returns 8-bit RGBA: greyscale is replicated to R = G = B, images without alpha get A = 255.
    const png = PNG.sync.read(buf);
    if (png.depth !== 8) throw new Error(`${file}: only 8-bit PNGs are used as fixtures (got ${png.depth})`);
    const n = png.width * png.height;
    const rgb = new Uint8Array(n * 3);
    let anyAlpha = false;
    for (let i = 0; i < n; i++) {
      const a = png.data[4 * i + 3];
      if (a !== 255) anyAlpha = true;
      for (let c = 0; c < 3; c++) {
        const v = png.data[4 * i + c];
        rgb[3 * i + c] = Math.floor((a * v + (255 - a) * 255 + 127) / 255);
      }
    }
    const kind = { 0: 'grey', 2: 'rgb', 3: 'palette', 4: 'grey+alpha', 6: 'rgba' }[png.colorType];
    return { width: png.width, height: png.height, rgb, decoder: `pngjs ${PINNED.pngjs}`,
             note: `png ${kind}${anyAlpha ? ', composited over white' : ''}` };
  }
  throw new Error(`${file}: neither PNG nor JPEG`);
}

// ---------------------------------------------------------------------------------------------- main

const nowMs = () => Number(process.hrtime.bigint() / 1000000n);

(async () => {
  const tStart = nowMs();
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}`);

  const files = fs.readdirSync(IMAGES).filter(f => /\.(png|jpe?g)$/i.test(f)).sort();
  if (files.length === 0) throw new Error(`no images in ${IMAGES}`);
  fs.mkdirSync(NPY_DIR, { recursive: true });
  for (const f of fs.readdirSync(NPY_DIR)) {                // drop stale outputs of images that were removed
    if (/_(inception_v3|mobilenet_v2)\.npy$/.test(f)) fs.unlinkSync(path.join(NPY_DIR, f));
  }

  const images = files.map(f => {
    const d = decodeToRgb(path.join(IMAGES, f));
    const sha = crypto.createHash('sha256').update(d.rgb).digest('hex');
    console.log(`${f}: ${d.width}x${d.height} (${d.decoder}, ${d.note}) rgb_sha256 ${sha}`);
    return { file: f, ...d, rgb_sha256: sha, models: {} };
  });

  for (const m of MODELS) {
    let t0 = nowMs();
    const model = await nsfwjs.load(m.name);             // exactly as a user does; also runs a warm-up predict
    if (model.options.size !== m.size) throw new Error(`${m.name}: nsfwjs size ${model.options.size} != ${m.size}`);
    console.log(`\n${m.name}: load + warm-up ${nowMs() - t0} ms`);
    const s = m.size;

    for (const im of images) {
      const stem = im.file.replace(/\.[^.]+$/, '');
      const npyRel = `npy/${stem}_${m.key}.npy`;
      const img = tf.tensor3d(Int32Array.from(im.rgb), [im.height, im.width, 3], 'int32');

      // a. nsfwjs's own path
      t0 = nowMs();
      const out1 = model.infer(img);
      const probsImage = Array.from(await out1.data());
      out1.dispose();
      const tInfer = nowMs() - t0;

      // b. the same preprocessing, done here, written to .npy, read back, predicted
      const pre = tf.tidy(() => {
        const normalized = img.toFloat().div(tf.scalar(255));
        return (im.height !== s || im.width !== s)
          ? tf.image.resizeBilinear(normalized, [s, s], true)
          : normalized;
      });
      const preData = await pre.data();
      pre.dispose();
      writeNpyF32(path.join(FIXTURES, npyRel), preData, [s, s, 3]);
      const back = readNpyF32(path.join(FIXTURES, npyRel));
      t0 = nowMs();
      const out2 = tf.tidy(() => model.model.predict(tf.tensor4d(back.data, [1, s, s, 3], 'float32')));
      const probsNpy = Array.from(await out2.data());
      out2.dispose();
      const tPredict = nowMs() - t0;
      img.dispose();

      const same = probsImage.every((v, i) => Object.is(v, probsNpy[i]));
      const top = probsImage.indexOf(Math.max(...probsImage));
      im.models[m.key] = { npy: npyRel, probs_image: probsImage, probs_npy: probsNpy, top1: CLASSES[top] };
      console.log(`  ${im.file.padEnd(22)} top1 ${CLASSES[top].padEnd(8)} ` +
                  `[${probsImage.map(v => v.toFixed(6)).join(' ')}] image==npy ${same ? 'bit-exact' : 'DIFFERENT'} ` +
                  `infer ${tInfer} ms, predict ${tPredict} ms`);
    }
    model.dispose();
  }

  const result = {
    generated_by: `tools/reference/nsfwjs_reference.js (nsfwjs ${PINNED.nsfwjs} bundled Keras models loaded with ` +
                  `nsfwjs.load('InceptionV3'/'MobileNetV2'), @tensorflow/tfjs ${PINNED['@tensorflow/tfjs']} cpu backend, ` +
                  `jpeg-js ${PINNED['jpeg-js']}, pngjs ${PINNED.pngjs}, node ${process.version})`,
    tfjs: PINNED['@tensorflow/tfjs'],
    nsfwjs: PINNED.nsfwjs,
    classes: CLASSES,
    decoding: 'jpeg-js (JPEG) / pngjs (PNG) to 8-bit RGB; grey replicated to R=G=B; alpha composited over white as ' +
              'floor((A*c + (255-A)*255 + 127) / 255); rgb_sha256 is over the H*W*3 RGB bytes, row-major',
    images: images.map(im => ({
      file: `images/${im.file}`, width: im.width, height: im.height, decoder: im.decoder, decoded: im.note,
      rgb_sha256: im.rgb_sha256, models: im.models,
    })),
  };
  fs.writeFileSync(OUT_JSON, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), OUT_JSON)}; total ${((nowMs() - tStart) / 1000).toFixed(1)} s`);
})().catch(e => { console.error(e); process.exit(1); });
