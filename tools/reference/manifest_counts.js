// The parameter counts of the two nsfwjs models as their TF.js weight manifests state them, so
// that gaze's counts are checked against the published models and not against gaze itself.
//
// Run (see README.md here):  cd tools/reference && npm ci && node manifest_counts.js
// Writes tests/fixtures/nsfwjs_manifest_counts.json (well under a second; it reads only the
// model.min.js files of node_modules/nsfwjs, not the weight shards).
//
// nsfwjs 4.4.0 ships each model as dist/models/<model>/model.min.js, a browserify bundle whose
// module is the TF.js model JSON: { modelTopology, weightsManifest }. Each weightsManifest entry
// lists weights as { name: '<layer>/<variable>', shape, dtype, quantization }. The count of a
// weight is the product of its shape (its stored values, whatever the quantization), and a
// layer's count is the sum over the weights named after it.
'use strict';

const fs = require('fs');
const path = require('path');
const { checkPinned } = require('./ref_util');

const HERE = __dirname;
const OUT = path.resolve(HERE, '..', '..', 'tests', 'fixtures', 'nsfwjs_manifest_counts.json');
const MODELS = ['inception_v3', 'mobilenet_v2'];

function counts(model) {
  const file = `nsfwjs/dist/models/${model}/model.min.js`;
  const json = require(path.join(HERE, 'node_modules', file));
  const layers = {};
  let weights = 0;
  let values = 0;
  for (const group of json.weightsManifest) {
    for (const w of group.weights) {
      const slash = w.name.lastIndexOf('/');
      if (slash < 0) throw new Error(`${file}: weight ${w.name} has no layer prefix`);
      const n = w.shape.reduce((a, b) => a * b, 1);
      const layer = w.name.slice(0, slash);
      layers[layer] = (layers[layer] || 0) + n;
      weights += 1;
      values += n;
    }
  }
  return { file: `node_modules/${file}`, weights, values, layers };
}

function main() {
  const pinned = checkPinned({ nsfwjs: '4.4.0' });
  const out = { made_by: 'tools/reference/manifest_counts.js', nsfwjs: pinned.nsfwjs, models: {} };
  for (const m of MODELS) {
    out.models[m] = counts(m);
    console.log(`${m}: ${out.models[m].weights} weights in ${Object.keys(out.models[m].layers).length} ` +
                `layers, ${out.models[m].values} values`);
  }
  fs.writeFileSync(OUT, JSON.stringify(out, null, 1) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), OUT)}`);
}

main();
