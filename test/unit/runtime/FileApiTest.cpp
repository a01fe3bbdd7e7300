//===- FileApiTest.cpp - the bitttt_file_* C API --------------------------===//
#include "BittTestUtil.h"
#include "bitttt.h"
#include "bitttt/Format/BittFile.h"

#include <cstring>

using bitttt::test::TempDir;

namespace {

/// Writes a small v2 file with the C++ writer; returns its path.
std::string writeSample(const TempDir &dir, const std::string &name) {
  static const float w[6] = {1, 2, 3, 4, 5, 6};
  static const double lr = 0.5;
  std::string path = dir.file(name);
  bitttt::format::Status s = bitttt::format::writeBittV2(
      path, R"({"config":{"hidden_dim":2},"tokenizer":null})",
      {{"w", "F32", {2, 3}, w, sizeof(w)},
       {"lr", "F64", {}, &lr, sizeof(lr)},
       {"e", "I32", {0, 5}, nullptr, 0}});
  EXPECT_TRUE(s.isOk()) << s.message();
  return path;
}

void expectLastError(const std::string &fragment) {
  EXPECT_NE(std::string(bitttt_last_error()).find(fragment), std::string::npos)
      << "last error: " << bitttt_last_error() << "\nexpected: " << fragment;
}

} // namespace

TEST(FileApi, OpenDescribesEveryTensor) {
  TempDir dir;
  std::string path = writeSample(dir, "m.bitt");
  bitttt_file *file = nullptr;
  ASSERT_EQ(bitttt_file_open(path.c_str(), &file), BITTTT_OK)
      << bitttt_last_error();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(bitttt_file_version(file), 2);
  EXPECT_NE(
      std::string(bitttt_file_header_json(file)).find(R"("format_version":2)"),
      std::string::npos);
  ASSERT_EQ(bitttt_file_tensor_count(file), 3u);

  std::vector<std::string> names;
  for (size_t i = 0; i < 3; ++i) {
    bitttt_tensor_info info;
    ASSERT_EQ(bitttt_file_tensor(file, i, &info), BITTTT_OK);
    names.push_back(info.name);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(info.data) % 64, 0u) << info.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"e", "lr", "w"}));

  bitttt_tensor_info info;
  ASSERT_EQ(bitttt_file_find(file, "w", &info), BITTTT_OK);
  EXPECT_STREQ(info.name, "w");
  EXPECT_STREQ(info.dtype, "F32");
  EXPECT_EQ(info.ndim, 2);
  EXPECT_EQ(info.shape[0], 2);
  EXPECT_EQ(info.shape[1], 3);
  EXPECT_EQ(info.shape[2], 0);
  EXPECT_EQ(info.nbytes, 24u);
  EXPECT_EQ(static_cast<const float *>(info.data)[5], 6.0f);

  ASSERT_EQ(bitttt_file_find(file, "lr", &info), BITTTT_OK);
  EXPECT_EQ(info.ndim, 0);
  EXPECT_EQ(info.nbytes, 8u);
  EXPECT_EQ(*static_cast<const double *>(info.data), 0.5);

  ASSERT_EQ(bitttt_file_find(file, "e", &info), BITTTT_OK);
  EXPECT_EQ(info.ndim, 2);
  EXPECT_EQ(info.nbytes, 0u);
  bitttt_file_close(file);
}

TEST(FileApi, LookupFailures) {
  TempDir dir;
  std::string path = writeSample(dir, "m.bitt");
  bitttt_file *file = nullptr;
  ASSERT_EQ(bitttt_file_open(path.c_str(), &file), BITTTT_OK);
  bitttt_tensor_info info;
  EXPECT_EQ(bitttt_file_find(file, "nope", &info), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError(path + ": no tensor named 'nope'");
  EXPECT_EQ(bitttt_file_tensor(file, 3, &info), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("index 3 out of range (3 tensors)");
  bitttt_file_close(file);
}

TEST(FileApi, NullArguments) {
  TempDir dir;
  std::string path = writeSample(dir, "m.bitt");
  bitttt_file *file = nullptr;
  bitttt_tensor_info info;
  EXPECT_EQ(bitttt_file_open(nullptr, &file), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_open: path is NULL");
  EXPECT_EQ(bitttt_file_open(path.c_str(), nullptr),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_open: out is NULL");
  EXPECT_EQ(bitttt_file_version(nullptr), -1);
  expectLastError("bitttt_file_version: file is NULL");
  EXPECT_EQ(bitttt_file_header_json(nullptr), nullptr);
  expectLastError("bitttt_file_header_json: file is NULL");
  EXPECT_EQ(bitttt_file_tensor_count(nullptr), 0u);
  expectLastError("bitttt_file_tensor_count: file is NULL");
  EXPECT_EQ(bitttt_file_tensor(nullptr, 0, &info), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_tensor: file is NULL");
  EXPECT_EQ(bitttt_file_find(nullptr, "w", &info), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_find: file is NULL");
  EXPECT_EQ(bitttt_file_copy_v2(nullptr, "x"), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_copy_v2: src is NULL");
  EXPECT_EQ(bitttt_file_copy_v2("x", nullptr), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_copy_v2: dst is NULL");

  ASSERT_EQ(bitttt_file_open(path.c_str(), &file), BITTTT_OK);
  EXPECT_EQ(bitttt_file_tensor(file, 0, nullptr), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_tensor: out is NULL");
  EXPECT_EQ(bitttt_file_find(file, nullptr, &info),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_find: name is NULL");
  EXPECT_EQ(bitttt_file_find(file, "w", nullptr), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError("bitttt_file_find: out is NULL");
  bitttt_file_close(file);
  bitttt_file_close(nullptr); // ignored
}

TEST(FileApi, OpenFailuresMapToStatusCodes) {
  TempDir dir;
  bitttt_file *file = reinterpret_cast<bitttt_file *>(0x1);
  std::string missing = dir.file("missing.bitt");
  EXPECT_EQ(bitttt_file_open(missing.c_str(), &file), BITTTT_ERR_IO);
  EXPECT_EQ(file, nullptr);
  expectLastError(missing + ": cannot open");

  std::string bad = dir.file("bad.bitt");
  bitttt::test::writeBytes(bad, "BITT" + bitttt::test::le64(4096) + "{}");
  EXPECT_EQ(bitttt_file_open(bad.c_str(), &file), BITTTT_ERR_FORMAT);
  expectLastError(bad + ": truncated: header length 4096 past end of file");

  std::string newer = dir.file("v3.bitt");
  bitttt::test::writeBytes(
      newer,
      bitttt::test::bitt(R"({"bitttt":{"format_version":3}})", "{}", "", true));
  EXPECT_EQ(bitttt_file_open(newer.c_str(), &file), BITTTT_ERR_UNSUPPORTED);
  expectLastError(newer + ": header field 'bitttt.format_version' is 3");
}

TEST(FileApi, RankAboveEightIsUnsupported) {
  TempDir dir;
  std::string path = dir.file("r9.safetensors");
  bitttt::test::writeBytes(
      path, bitttt::test::safetensors(
                R"({"t":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],)"
                R"("data_offsets":[0,1]}})",
                "x"));
  bitttt_file *file = nullptr;
  ASSERT_EQ(bitttt_file_open(path.c_str(), &file), BITTTT_OK)
      << bitttt_last_error();
  EXPECT_EQ(bitttt_file_version(file), 0);
  EXPECT_STREQ(bitttt_file_header_json(file), "{}");
  bitttt_tensor_info info;
  EXPECT_EQ(bitttt_file_tensor(file, 0, &info), BITTTT_ERR_UNSUPPORTED);
  expectLastError(path + ": tensor 't' has 9 dimensions");
  bitttt_file_close(file);
}

TEST(FileApi, CopyV2UpgradesSafetensors) {
  TempDir dir;
  std::string src = dir.file("m.safetensors");
  std::string dst = dir.file("m.bitt");
  bitttt::test::writeBytes(
      src, bitttt::test::safetensors(
               R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
               R"("b":{"dtype":"U16","shape":[2],"data_offsets":[3,7]}})",
               "xyzBBCC"));
  ASSERT_EQ(bitttt_file_copy_v2(src.c_str(), dst.c_str()), BITTTT_OK)
      << bitttt_last_error();
  bitttt_file *file = nullptr;
  ASSERT_EQ(bitttt_file_open(dst.c_str(), &file), BITTTT_OK)
      << bitttt_last_error();
  EXPECT_EQ(bitttt_file_version(file), 2);
  bitttt_tensor_info info;
  ASSERT_EQ(bitttt_file_find(file, "b", &info), BITTTT_OK);
  EXPECT_EQ(std::string(static_cast<const char *>(info.data), 4), "BBCC");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(info.data) % 64, 0u);
  bitttt_file_close(file);

  std::string missing = dir.file("none.safetensors");
  EXPECT_EQ(bitttt_file_copy_v2(missing.c_str(), dst.c_str()), BITTTT_ERR_IO);
  expectLastError(missing + ": cannot open");
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"m.bitt", "m.safetensors"}));
}
