// expand_inputs against folders built here: nested, hidden, foreign files, link loops, lists.
#include "collection/inputs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/test_util.h"

namespace gaze {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

std::vector<std::string> relatives(const std::vector<InputEntry>& entries) {
  std::vector<std::string> out;
  for (const InputEntry& e : entries) out.push_back(e.relative + (e.error.empty() ? "" : " !"));
  return out;
}

class InputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::test_temp_path("inputs");
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::vector<InputEntry> expand(const std::vector<std::string>& args, const std::string& in = "") {
    std::istringstream stdin_text(in);
    return expand_inputs(args, stdin_text);
  }
  fs::path root_;
};

TEST_F(InputsTest, FolderIsWalkedInSortedOrderTakingImagesAndArrays) {
  for (const char* name : {"b/x.jpg", "a/x.jpg", "a/deeper/y.PNG", "z.npy", "c.webp", "notes.txt",
                           "model.h5", ".hidden.jpg", ".cache/q.jpg", "a/Y.JPEG"}) {
    touch(root_ / name);
  }
  const std::vector<InputEntry> e = expand({root_.string()});
  EXPECT_EQ(relatives(e), (std::vector<std::string>{"a/Y.JPEG", "a/deeper/y.PNG", "a/x.jpg",
                                                    "b/x.jpg", "c.webp", "z.npy"}));
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e[0].path, (root_ / "a/Y.JPEG").string());
}

TEST_F(InputsTest, FilesKeepTheirPlainRelativePathElseTheirName) {
  const std::vector<InputEntry> e =
      expand({"a/b/x.jpg", "./c/./y.png", "/abs/p/z.jpg", "../up/w.jpg"});
  EXPECT_EQ(relatives(e), (std::vector<std::string>{"a/b/x.jpg", "c/y.png", "z.jpg", "w.jpg"}));
  EXPECT_EQ(e[1].path, "./c/./y.png");  // the path to open and to report stays as spelled
}

TEST_F(InputsTest, LinkLoopsEndAndBrokenLinksAreReported) {
  touch(root_ / "d/x.jpg");
  fs::create_directory_symlink("..", root_ / "d/up");      // a loop back to the root
  fs::create_directory_symlink(root_ / "d", root_ / "e");  // the same folder twice
  fs::create_symlink(root_ / "gone.jpg", root_ / "d/broken.jpg");
  fs::create_symlink(root_ / "gone.txt", root_ / "d/broken.txt");  // not an image: ignored
  const std::vector<InputEntry> e = expand({root_.string()});
  EXPECT_EQ(relatives(e), (std::vector<std::string>{"d/broken.jpg !", "d/x.jpg"}));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_NE(e[0].error.find("no such file"), std::string::npos) << e[0].error;
}

TEST_F(InputsTest, ListsHoldOneInputPerLineFromAFileOrStandardInput) {
  touch(root_ / "f/x.jpg");
  const fs::path list = root_ / "list.txt";
  std::ofstream(list) << "one.jpg\r\n\n" << (root_ / "f").string() << "\ntwo.png";
  EXPECT_EQ(relatives(expand({"@" + list.string(), "@-"}, "three.jpg\n")),
            (std::vector<std::string>{"one.jpg", "x.jpg", "two.png", "three.jpg"}));
  const std::vector<InputEntry> missing = expand({"@" + (root_ / "none.txt").string()});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].error.find("cannot read the list"), std::string::npos);
}

TEST_F(InputsTest, ACollectionIsSeveralInputsAFolderOrAList) {
  EXPECT_FALSE(names_a_collection({"x.jpg"}));
  EXPECT_TRUE(names_a_collection({"x.jpg", "y.jpg"}));
  EXPECT_TRUE(names_a_collection({root_.string()}));
  EXPECT_TRUE(names_a_collection({"@list"}));
  EXPECT_TRUE(is_collection_file("A.JpG"));
  EXPECT_FALSE(is_collection_file("jpg"));
}

}  // namespace
}  // namespace gaze
