// Classify one image: the five most probable classes and their probabilities.
//   classify MODEL IMAGE
#include <gaze/gaze.h>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: classify MODEL IMAGE\n");
    return 2;
  }
  try {
    const gaze::Classifier classifier = gaze::Classifier::load(argv[1]);
    for (const gaze::Prediction& p : classifier.classify(gaze::load_image(argv[2]), 5))
      std::printf("%-12s %.4f\n", p.label.c_str(), static_cast<double>(p.probability));
  } catch (const gaze::Error& e) {
    std::fprintf(stderr, "classify: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
