// Grad-CAM of the two most probable classes at two layers: the default one and the spatial layer
// before it. Each map is saved as OUT_DIR/<class>_<layer>.npy (the layer-resolution map) and
// OUT_DIR/<class>_<layer>.png (its overlay), and all of them as OUT_DIR/panel.png.
//   gradcam MODEL IMAGE OUT_DIR
#include <gaze/gaze.h>
#include <algorithm>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: gradcam MODEL IMAGE OUT_DIR\n");
    return 2;
  }
  try {
    const gaze::Classifier classifier = gaze::Classifier::load(argv[1]);
    const gaze::Image photo = gaze::load_image(argv[2]);
    const std::string out = argv[3];

    gaze::ExplainOptions options;  // method: Grad-CAM by default
    const std::string last = classifier.default_layer();
    std::string before;  // the last spatial layer before the default one
    for (const gaze::LayerInfo& layer : classifier.layers()) {
      if (layer.name == last) break;
      if (layer.spatial) before = layer.name;
    }
    options.layers = {last};
    if (!before.empty()) options.layers.push_back(before);
    for (const gaze::Prediction& p : classifier.classify(photo, 2))
      options.classes.push_back(p.index);

    const gaze::Explanation e = classifier.explain(photo, options);
    for (const gaze::ClassMap& m : e.maps) {
      std::string stem = out + "/" + m.target.label + "_" + m.layer;
      std::replace(stem.begin() + static_cast<long>(out.size()) + 1, stem.end(), '/', '_');
      gaze::write_npy(stem + ".npy", m.map);
      gaze::save_image(stem + ".png", m.overlay);
      std::printf("%s %s %.4f %lldx%lld\n", m.target.label.c_str(), m.layer.c_str(),
                  static_cast<double>(m.target.probability), static_cast<long long>(m.map.dim(0)),
                  static_cast<long long>(m.map.dim(1)));
    }
    gaze::save_image(out + "/panel.png", e.panel);
  } catch (const gaze::Error& e) {
    std::fprintf(stderr, "gradcam: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
