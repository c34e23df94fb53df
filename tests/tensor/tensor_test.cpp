#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tensor/gemm.h"
#include "tensor/npy.h"
#include "tensor/tensor.h"
#include "tests/support/test_util.h"

namespace gaze {
namespace {

TEST(Tensor, ShapeAndCheckedAccess) {
  Tensor t = Tensor::zeros({2, 3, 4, 5});
  EXPECT_EQ(t.size(), 120);
  EXPECT_EQ(t.rank(), 4);
  EXPECT_EQ(t.dim(-1), 5);
  t.at(1, 2, 3, 4) = 7.0f;
  EXPECT_EQ(t.data()[119], 7.0f);  // NHWC, last index fastest
  t.at(0, 1, 0, 0) = 3.0f;
  EXPECT_EQ(t.data()[20], 3.0f);
  EXPECT_THROW(t.at(2, 0, 0, 0), Error);
  EXPECT_THROW(t.at(0, 0, 0), Error);
  EXPECT_THROW(t.dim(4), Error);
  EXPECT_THROW(Tensor::from({2, 2}, {1.0f, 2.0f}), Error);
}

TEST(Tensor, CopiesShareStorageAndCloneDoesNot) {
  Tensor a = Tensor::zeros({2, 2});
  Tensor b = a;
  Tensor c = a.clone();
  Tensor r = a.reshape({4});
  a.at(1, 1) = 5.0f;
  EXPECT_EQ(b.at(1, 1), 5.0f);
  EXPECT_EQ(r.at(3), 5.0f);
  EXPECT_EQ(c.at(1, 1), 0.0f);
  EXPECT_EQ(a.reshape({-1, 1}).shape(), (Shape{4, 1}));
  EXPECT_THROW(a.reshape({3}), Error);
  EXPECT_EQ(to_string(a.shape()), "[2, 2]");
}

// A shape from a corrupt file whose product wraps around int64 (2^32 * 2^32 = 2^64 = 0 mod 2^64)
// or whose bytes cannot be counted is refused before any allocation, not allocated small.
TEST(Tensor, ElementCountsThatOverflowAreAnErrorBeforeAllocation) {
  const int64_t big = int64_t{1} << 32;
  EXPECT_THROW(element_count({big, big}), Error);
  EXPECT_THROW(element_count({big, big, 0}), Error) << "overflow before the 0 still refused";
  EXPECT_THROW(element_count({3, INT64_MAX / 2}), Error);
  EXPECT_EQ(element_count({kMaxTensorElements}), kMaxTensorElements);
  EXPECT_THROW(element_count({kMaxTensorElements + 1}), Error);
  EXPECT_THROW(element_count({2, -1}), Error);
  try {
    Tensor t({big, big});
    FAIL() << "a 2^64-element tensor was made";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more elements than a tensor can hold"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Tensor::zeros({4}).reshape({-1, big, big}), Error);
  EXPECT_EQ(element_count({big, 0}), 0);
}

// A .npy whose header claims more data than the file holds is refused before the allocation,
// by the file's size; from a pipe, which has no size, the bytes are read first.
TEST(Npy, DataIsCheckedAgainstTheFileAndPipesAreReadBeforeAllocating) {
  const std::string path = testing::test_temp_path("a.npy");
  const Tensor t = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  write_npy(path, t);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string claims = bytes.substr(0, bytes.size() - 24);
  std::string header = claims;
  const size_t shape = header.find("(2,3)");
  ASSERT_NE(shape, std::string::npos);
  header.replace(shape, 5, "(9,9)");  // same length: 324 bytes claimed, 24 held
  std::ofstream(path, std::ios::binary | std::ios::trunc) << header << bytes.substr(claims.size());
  EXPECT_NE(testing::error_of([&] { read_npy(path); }).find("needs 324 bytes, the file holds 24"),
            std::string::npos);

  for (const bool whole : {true, false}) {
    const std::string fifo = testing::test_temp_path(whole ? "whole.npy" : "cut.npy");
    std::filesystem::remove(fifo);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::thread writer([&] {
      std::ofstream out(fifo, std::ios::binary);
      out << (whole ? bytes : bytes.substr(0, bytes.size() - 4));
    });
    if (whole) {
      const Tensor read = read_npy(fifo);
      EXPECT_EQ(read.shape(), t.shape());
      EXPECT_EQ(std::vector<float>(read.data(), read.data() + 6),
                std::vector<float>(t.data(), t.data() + 6));
    } else {
      EXPECT_NE(
          testing::error_of([&] { read_npy(fifo); }).find("needs 24 bytes, the file holds 20"),
          std::string::npos);
    }
    writer.join();
    std::filesystem::remove(fifo);
  }
}

// Only numpy's format versions 1, 2 and 3 are read; any other is refused, not guessed at.
TEST(Npy, UnknownFormatVersionsAreRefused) {
  const std::string path = testing::test_temp_path("v.npy");
  write_npy(path, Tensor::from({2}, {1, 2}));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(bytes[6], 1);  // written as format 1.0
  for (const char major : {0, 4, 9}) {
    std::string changed = bytes;
    changed[6] = major;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << changed;
    EXPECT_NE(testing::error_of([&] {
                read_npy(path);
              }).find("format version " + std::to_string(major) + " (known: 1, 2, 3)"),
              std::string::npos)
        << int(major);
  }
  std::filesystem::remove(path);
}

TEST(Gemm, MatchesNaiveProductForEveryTransposition) {
  const int64_t m = 5, n = 4, k = 3;
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      const Tensor a = testing::random_tensor(ta == Transpose::kNo ? Shape{m, k} : Shape{k, m}, 1);
      const Tensor b = testing::random_tensor(tb == Transpose::kNo ? Shape{k, n} : Shape{n, k}, 2);
      Tensor c = testing::random_tensor({m, n}, 3);
      const Tensor c0 = c.clone();
      gemm(ta, tb, m, n, k, 2.0f, a.data(), a.dim(1), b.data(), b.dim(1), 0.5f, c.data(), n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0.0;
          for (int64_t p = 0; p < k; ++p) {
            const float av = ta == Transpose::kNo ? a.at(i, p) : a.at(p, i);
            const float bv = tb == Transpose::kNo ? b.at(p, j) : b.at(j, p);
            s += static_cast<double>(av) * bv;
          }
          EXPECT_NEAR(c.at(i, j), 2.0 * s + 0.5 * c0.at(i, j), 1e-5);
        }
    }
  }
}

TEST(Gemm, ThinProductsMatchTheNaiveProduct) {
  // Every column count of the thin path, inner dimensions from 1 to its limit, row counts that
  // leave partial row blocks (and 300: the loop that is threaded when the test has threads,
  // tools/test.sh's optimized pass), and leading dimensions wider than
  // the matrices.
  uint32_t seed = 10;
  for (int64_t n : {8, 16, 32, 24}) {  // 24: not thin, OpenBLAS
    for (int64_t k : {1, 27, 64}) {
      for (int64_t m : {1, 3, 5, 300}) {
        SCOPED_TRACE("m " + std::to_string(m) + " n " + std::to_string(n) + " k " +
                     std::to_string(k));
        const int64_t lda = k + 3, ldb = n + 8, ldc = n + 5;
        const Tensor a = testing::random_tensor({m, lda}, seed++);
        const Tensor b = testing::random_tensor({k, ldb}, seed++);
        Tensor c = Tensor::full({m, ldc}, 7.0f);
        gemm(Transpose::kNo, Transpose::kNo, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f,
             c.data(), ldc);
        float worst = 0.0f;
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            double s = 0.0;
            for (int64_t p = 0; p < k; ++p) s += static_cast<double>(a.at(i, p)) * b.at(p, j);
            worst = std::max(worst, static_cast<float>(std::abs(c.at(i, j) - s)));
          }
          for (int64_t j = n; j < ldc; ++j) EXPECT_EQ(c.at(i, j), 7.0f);  // untouched
        }
        EXPECT_LE(worst, 1e-5f);
      }
    }
  }
}

}  // namespace
}  // namespace gaze
