// The consumer test's program: classifies a photo and takes its Grad-CAM through the installed
// <gaze/gaze.h>, and checks what it gets, so a broken package fails here and not later.
//   consumer MODEL IMAGE
#include <gaze/gaze.h>
#include <cmath>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: consumer MODEL IMAGE\n"), 2;
  try {
    const gaze::Classifier classifier = gaze::Classifier::load(argv[1]);
    const gaze::Image photo = gaze::load_image(argv[2]);
    const auto predictions = classifier.classify(photo, 0);
    double total = 0;
    for (const gaze::Prediction& p : predictions) total += p.probability;
    const gaze::Explanation e = classifier.explain(photo);
    const gaze::Tensor& map = e.maps.at(0).map;
    float peak = 0;
    for (int64_t i = 0; i < map.size(); ++i) peak = std::max(peak, map.data()[i]);
    std::printf("top %s %.4f, %zu classes, sum %.6f, map %lldx%lld at %s, peak %g\n",
                predictions[0].label.c_str(), static_cast<double>(predictions[0].probability),
                predictions.size(), total, static_cast<long long>(map.dim(0)),
                static_cast<long long>(map.dim(1)), e.maps[0].layer.c_str(),
                static_cast<double>(peak));
    if (std::fabs(total - 1) > 1e-4 || predictions.size() != classifier.class_names().size() ||
        e.maps[0].layer != classifier.default_layer() || !(peak > 0) ||
        e.panel.width <= photo.width) {
      std::fprintf(stderr, "consumer: unexpected results\n");
      return 1;
    }
  } catch (const gaze::Error& e) {
    return std::fprintf(stderr, "consumer: error: %s\n", e.what()), 1;
  }
  return 0;
}
