//===- BittFileTest.cpp - .bitt v2 writer and reader round trips ----------===//
#include "bitttt/Format/BittFile.h"
#include "BittTestUtil.h"

#include <nlohmann/json.hpp>

#include <cstring>

using namespace bitttt::format;
using bitttt::test::TempDir;
using nlohmann::json;

namespace {

/// Tensors with owned bytes, filled with a recognizable pattern.
struct Owned {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

Owned make(const std::string &name, const std::string &dtype,
           std::vector<int64_t> shape, unsigned seed) {
  uint64_t n = dtypeSize(dtype);
  for (int64_t d : shape)
    n *= uint64_t(d);
  Owned t{name, dtype, std::move(shape), std::string(n, '\0')};
  for (uint64_t i = 0; i < n; ++i)
    t.bytes[i] = char((i * 31 + seed * 7 + 1) & 0xff);
  return t;
}

std::vector<Owned> sampleTensors() {
  return {
      make("layers.0.ttt.q_proj.weight", "F32", {4, 8}, 1),
      make("embed.weight", "F16", {5, 3}, 2),
      make("norm_f.weight", "BF16", {3}, 3),
      make("layers.0.ttt.base_lr", "F64", {}, 4), // 0-d
      make("empty.i8", "I8", {0}, 5),             // empty
      make("empty.2d", "F32", {3, 0}, 6),         // empty, 2-D
      make("codes", "U8", {7}, 7),
      make("i16", "I16", {2, 2}, 8),
      make("u16", "U16", {3}, 9),
      make("i32", "I32", {3}, 10),
      make("u32", "U32", {1, 1, 1}, 11),
      make("i64", "I64", {2}, 12),
      make("u64", "U64", {1}, 13),
      make("mask", "BOOL", {5}, 14),
  };
}

std::vector<TensorData> view(const std::vector<Owned> &owned) {
  std::vector<TensorData> out;
  for (const Owned &t : owned)
    out.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  return out;
}

const char *kHeader =
    R"({"config":{"arch":"bitttt","hidden_dim":32,"rms_eps":1e-05},)"
    R"("tokenizer":{"model":{"type":"BPE"}}})";

} // namespace

TEST(BittFile, RoundTripV2) {
  TempDir dir;
  std::string path = dir.file("model.bitt");
  std::vector<Owned> owned = sampleTensors();
  Status s = writeBittV2(path, kHeader, view(owned), {{"format", "pt"}});
  ASSERT_TRUE(s.isOk()) << s.message();

  std::unique_ptr<BittFile> file;
  s = BittFile::open(path, file);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(file->version(), 2);
  json header = json::parse(file->headerJson());
  json expected = json::parse(kHeader);
  expected["bitttt"] = {{"format_version", 2}};
  EXPECT_EQ(header, expected);
  EXPECT_EQ(file->headerJson().back(), '}') << "padding is trimmed";
  EXPECT_EQ(file->metadata().at("format"), "pt");

  ASSERT_EQ(file->tensors().size(), owned.size());
  for (const Owned &o : owned) {
    const TensorInfo *t = file->find(o.name);
    ASSERT_NE(t, nullptr) << o.name;
    EXPECT_EQ(t->dtype, o.dtype) << o.name;
    EXPECT_EQ(t->shape, o.shape) << o.name;
    ASSERT_EQ(t->nbytes, o.bytes.size()) << o.name;
    EXPECT_EQ(std::memcmp(t->data, o.bytes.data(), o.bytes.size()), 0)
        << o.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 64, 0u) << o.name;
    EXPECT_EQ(t->fileOffset % 64, 0u) << o.name;
  }
  EXPECT_EQ(file->find("missing"), nullptr);
  EXPECT_EQ(file->find("__pad__.0"), nullptr) << "padding is not listed";
}

TEST(BittFile, TensorsAreStoredSortedByName) {
  TempDir dir;
  std::string path = dir.file("m.bitt");
  std::vector<Owned> owned = sampleTensors();
  ASSERT_TRUE(writeBittV2(path, "{}", view(owned)).isOk());
  std::unique_ptr<BittFile> file;
  ASSERT_TRUE(BittFile::open(path, file).isOk());
  std::vector<std::string> names;
  uint64_t last = 0;
  for (const TensorInfo &t : file->tensors()) {
    names.push_back(t.name);
    EXPECT_GE(t.fileOffset, last);
    last = t.fileOffset;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(BittFile, WriterIsDeterministic) {
  TempDir dir;
  std::vector<Owned> owned = sampleTensors();
  std::vector<TensorData> forward = view(owned);
  std::vector<TensorData> backward(forward.rbegin(), forward.rend());
  // Same header, written with different key order and whitespace.
  ASSERT_TRUE(writeBittV2(dir.file("a.bitt"), kHeader, forward).isOk());
  ASSERT_TRUE(
      writeBittV2(dir.file("b.bitt"), json::parse(kHeader).dump(2), backward)
          .isOk());
  std::string a = bitttt::test::readBytes(dir.file("a.bitt"));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, bitttt::test::readBytes(dir.file("b.bitt")));
}

TEST(BittFile, HeadersArePaddedToSixtyFour) {
  TempDir dir;
  std::string path = dir.file("m.bitt");
  std::vector<Owned> owned = {make("w", "F32", {3}, 1)};
  ASSERT_TRUE(writeBittV2(path, kHeader, view(owned)).isOk());
  std::string bytes = bitttt::test::readBytes(path);
  ASSERT_GE(bytes.size(), 12u);
  EXPECT_EQ(bytes.substr(0, 4), "BITT");
  uint64_t h = 0, s = 0;
  std::memcpy(&h, bytes.data() + 4, 8);
  EXPECT_EQ((12 + h) % 64, 0u);
  std::memcpy(&s, bytes.data() + 12 + h, 8);
  EXPECT_EQ((12 + h + 8 + s) % 64, 0u);
  EXPECT_EQ(bytes[12 + h - 1], ' ') << "header padded with spaces";
  EXPECT_EQ(bytes.size(), 12 + h + 8 + s + 12);
}

TEST(BittFile, EmptyFileOfTensors) {
  TempDir dir;
  std::string path = dir.file("m.bitt");
  ASSERT_TRUE(writeBittV2(path, "{}", {}).isOk());
  std::unique_ptr<BittFile> file;
  Status s = BittFile::open(path, file);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(file->tensors().size(), 0u);
  EXPECT_EQ(json::parse(file->headerJson()),
            json::parse(R"({"bitttt":{"format_version":2}})"));
}

TEST(BittFile, OverwritesAnExistingFile) {
  TempDir dir;
  std::string path = dir.file("m.bitt");
  bitttt::test::writeBytes(path, "old contents");
  std::vector<Owned> owned = {make("w", "F32", {3}, 1)};
  ASSERT_TRUE(writeBittV2(path, "{}", view(owned)).isOk());
  std::unique_ptr<BittFile> file;
  ASSERT_TRUE(BittFile::open(path, file).isOk());
  EXPECT_EQ(dir.list(), std::vector<std::string>{"m.bitt"});
}

TEST(BittFile, PackedAndArtifactIndexRoundTrip) {
  TempDir dir;
  std::string path = dir.file("m.bitt");
  std::vector<Owned> owned = {
      make("w.codes", "U8", {3, 64}, 1), // cols 130 -> 2 blocks of 32 bytes
      make("w.scale", "F32", {}, 2),
      make("__artifact__.x86-64-v3", "U8", {100}, 3),
  };
  std::string header = R"({"config":{},"bitttt":{"packed":{"w":{)"
                       R"("codes":"w.codes","scale":"w.scale","rows":3,)"
                       R"("cols":130,"layout":"i2_b128"}},"artifacts":{)"
                       R"("x86-64-v3":{"tensor":"__artifact__.x86-64-v3",)"
                       R"("kind":"elf-so"}}}})";
  Status s = writeBittV2(path, header, view(owned));
  ASSERT_TRUE(s.isOk()) << s.message();
  std::unique_ptr<BittFile> file;
  s = BittFile::open(path, file);
  ASSERT_TRUE(s.isOk()) << s.message();
  json h = json::parse(file->headerJson());
  EXPECT_EQ(h["bitttt"]["packed"]["w"]["cols"], 130);
  EXPECT_EQ(h["bitttt"]["format_version"], 2);
}

//===----------------------------------------------------------------------===//
// Writer failures: a status naming the file and tensor, and no file left.
//===----------------------------------------------------------------------===//

TEST(BittFileWriter, ByteSizeMismatchLeavesNoFile) {
  TempDir dir;
  std::string path = dir.file("m.bitt");
  std::string bytes(100, '\0');
  Status s = writeBittV2(
      path, "{}",
      {{"layers.0.ttt.q_proj.weight", "F32", {32, 32}, bytes.data(), 100}});
  EXPECT_EQ(s.code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(s.message(),
            path + ": tensor 'layers.0.ttt.q_proj.weight': 100 bytes do not "
                   "match shape [32, 32] x F32 (4096 bytes)");
  EXPECT_TRUE(dir.list().empty());
}

TEST(BittFileWriter, UnwritableDirectoryLeavesNoFile) {
  TempDir dir;
  std::string path = dir.file("no/such/dir/m.bitt");
  std::vector<Owned> owned = {make("w", "F32", {3}, 1)};
  Status s = writeBittV2(path, "{}", view(owned));
  EXPECT_EQ(s.code(), ErrorCode::IO);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_TRUE(dir.list().empty());
}

TEST(BittFileWriter, DirectoryDestinationIsRefusedUntouched) {
  TempDir dir;
  // The destination is a non-empty directory: refused before anything is
  // written, no temporary file, the directory as it was.
  std::string path = dir.file("m.bitt");
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  bitttt::test::writeBytes(path + "/keep", "x");
  std::vector<Owned> owned = {make("w", "F32", {3}, 1)};
  Status s = writeBittV2(path, "{}", view(owned));
  EXPECT_EQ(s.code(), ErrorCode::IO);
  EXPECT_NE(s.message().find(path + ": exists and is a directory, not a "
                             "file: not replaced"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(dir.list(), std::vector<std::string>{"m.bitt"});
  ::unlink((path + "/keep").c_str());
  ::rmdir(path.c_str());
}

TEST(BittFileWriter, RejectsBadTensorsAndHeaders) {
  TempDir dir;
  std::string path = dir.file("m.bitt");
  std::string four(4, '\0');
  struct Case {
    std::string header;
    std::vector<TensorData> tensors;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"{}", {{"a", "F7", {1}, four.data(), 4}}, "tensor 'a': unknown dtype"},
      {"{}",
       {{"a", "F32", {1}, four.data(), 4}, {"a", "F32", {1}, four.data(), 4}},
       "tensor 'a': the name appears twice"},
      {"{}",
       {{"__pad__.0", "U8", {4}, four.data(), 4}},
       "tensor '__pad__.0': the name is reserved"},
      {"{}", {{"", "U8", {4}, four.data(), 4}}, "empty name"},
      {"{}", {{"a", "U8", {-4}, four.data(), 4}}, "tensor 'a': shape [-4]"},
      {"{}", {{"a", "U8", {4}, nullptr, 4}}, "tensor 'a': data is NULL"},
      {"[1]", {}, "header JSON is an array"},
      {"{", {}, "invalid header JSON"},
      {R"({"bitttt":{"format_version":3}})",
       {},
       "'bitttt.format_version' is 3"},
      {R"({"bitttt":{"packed":{"w":{"codes":"c","scale":"s","rows":1,)"
       R"("cols":1,"layout":"i2_b128"}}}})",
       {},
       "'bitttt.packed.w.codes': tensor 'c' is missing"},
  };
  for (const Case &c : cases) {
    Status s = writeBittV2(path, c.header, c.tensors);
    EXPECT_EQ(s.code(), ErrorCode::InvalidArgument) << c.expected;
    EXPECT_NE(s.message().find(path + ": "), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expected), std::string::npos)
        << s.message() << "\nexpected: " << c.expected;
    EXPECT_TRUE(dir.list().empty()) << c.expected;
  }
}

//===----------------------------------------------------------------------===//
// v1 and plain safetensors, and the v2 upgrade.
//===----------------------------------------------------------------------===//

TEST(BittFile, ReadsV1AndSafetensors) {
  TempDir dir;
  float w[3] = {1.5f, -2.0f, 0.25f};
  std::string data(reinterpret_cast<const char *>(w), sizeof(w));
  data += std::string("\x01\x02", 2);
  std::string st = R"({"__metadata__":{"k":"v"},)"
                   R"("w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                   R"("b":{"dtype":"I8","shape":[2],"data_offsets":[12,14]}})";
  std::string v1Header = R"({"config":{"hidden_dim":4},"tokenizer":null})";
  bitttt::test::writeBytes(dir.file("v1.bitt"),
                           bitttt::test::bitt(v1Header, st, data, false));
  bitttt::test::writeBytes(dir.file("m.safetensors"),
                           bitttt::test::safetensors(st, data));
  for (const char *name : {"v1.bitt", "m.safetensors"}) {
    std::unique_ptr<BittFile> file;
    Status s = BittFile::open(dir.file(name), file);
    ASSERT_TRUE(s.isOk()) << s.message();
    bool v1 = std::string(name) == "v1.bitt";
    EXPECT_EQ(file->version(), v1 ? 1 : 0);
    EXPECT_EQ(file->headerJson(), v1 ? v1Header : "{}");
    EXPECT_EQ(file->metadata().at("k"), "v");
    ASSERT_EQ(file->tensors().size(), 2u);
    EXPECT_EQ(file->tensors()[0].name, "w") << "file order";
    EXPECT_EQ(std::memcmp(file->find("w")->data, w, sizeof(w)), 0);
    EXPECT_EQ(file->find("b")->shape, std::vector<int64_t>{2});
  }
}

TEST(BittFile, CopyUpgradesV1InPlace) {
  TempDir dir;
  std::string path = dir.file("v1.bitt");
  std::string data = "abcdefghijk";
  std::string st = R"({"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                   R"("y":{"dtype":"I16","shape":[4],"data_offsets":[3,11]}})";
  bitttt::test::writeBytes(
      path, bitttt::test::bitt(R"({"config":{"a":1}})", st, data, false));
  Status s = copyAsBittV2(path, path);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(dir.list(), std::vector<std::string>{"v1.bitt"});
  std::unique_ptr<BittFile> file;
  s = BittFile::open(path, file);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(file->version(), 2);
  EXPECT_EQ(json::parse(file->headerJson()),
            json::parse(R"({"config":{"a":1},"bitttt":{"format_version":2}})"));
  ASSERT_NE(file->find("y"), nullptr);
  EXPECT_EQ(std::string(static_cast<const char *>(file->find("y")->data), 8),
            "defghijk");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(file->find("y")->data) % 64, 0u);
}

TEST(BittFile, CopyOfAMissingFileFails) {
  TempDir dir;
  Status s = copyAsBittV2(dir.file("none.bitt"), dir.file("out.bitt"));
  EXPECT_EQ(s.code(), ErrorCode::IO);
  EXPECT_NE(s.message().find("none.bitt"), std::string::npos);
  EXPECT_TRUE(dir.list().empty());
}

// Tensors made by `produce` callbacks (run on worker threads ahead of the
// write) give the same file as the same bytes passed as data, for any
// thread count; `written` runs once per tensor.
TEST(BittFileWriter, ProducedTensorsEqualDataTensorsForAnyThreadCount) {
  TempDir dir;
  std::vector<Owned> owned = sampleTensors();
  ASSERT_TRUE(writeBittV2(dir.file("data.bitt"), kHeader, view(owned)).isOk());
  std::string want = bitttt::test::readBytes(dir.file("data.bitt"));
  ASSERT_FALSE(want.empty());
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    std::vector<TensorData> tensors = view(owned);
    std::vector<int> writtenCount(tensors.size(), 0);
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (i % 2 == 0) { // every other one produced
        const Owned *o = &owned[i];
        tensors[i].data = nullptr;
        tensors[i].produce = [o](void *out) {
          if (!o->bytes.empty()) // memcpy takes no null, even for 0 bytes
            std::memcpy(out, o->bytes.data(), o->bytes.size());
          return Status::ok();
        };
      }
      tensors[i].written = [&writtenCount, i] { ++writtenCount[i]; };
    }
    WriteOptions options;
    options.threads = threads;
    std::string path = dir.file("p" + std::to_string(threads) + ".bitt");
    Status s = writeBittV2(path, kHeader, tensors, {}, options);
    ASSERT_TRUE(s.isOk()) << s.message();
    EXPECT_EQ(bitttt::test::readBytes(path), want) << threads << " threads";
    for (int n : writtenCount)
      EXPECT_EQ(n, 1) << threads << " threads";
  }
}

// A producer's failure names the tensor and leaves no file, temporary or
// final, whatever the thread count.
TEST(BittFileWriter, FailingProducerLeavesNoFile) {
  for (unsigned threads : {1u, 4u}) {
    TempDir dir;
    std::string path = dir.file("m.bitt");
    std::vector<Owned> owned = sampleTensors();
    std::vector<TensorData> tensors = view(owned);
    for (TensorData &t : tensors) {
      if (t.name != "i32")
        continue;
      t.data = nullptr;
      t.produce = [](void *) {
        return Status::error(ErrorCode::Format, "cannot pack it");
      };
    }
    WriteOptions options;
    options.threads = threads;
    Status s = writeBittV2(path, kHeader, tensors, {}, options);
    EXPECT_FALSE(s.isOk());
    EXPECT_EQ(s.message(), path + ": tensor 'i32': cannot pack it");
    EXPECT_TRUE(dir.list().empty()) << threads << " threads";
  }
}

// Releasing a tensor's pages drops them from the mapping, not the data:
// the bytes read back the same afterwards.
TEST(BittFile, ReleasedTensorsReadBackTheSame) {
  TempDir dir;
  std::string path = dir.file("m.bitt");
  std::vector<Owned> owned = {make("big", "F32", {4096, 8}, 3),
                              make("small", "U8", {100}, 4)};
  ASSERT_TRUE(writeBittV2(path, "{}", view(owned)).isOk());
  std::unique_ptr<BittFile> file;
  ASSERT_TRUE(BittFile::open(path, file).isOk());
  for (const Owned &o : owned) {
    const TensorInfo *t = file->find(o.name);
    ASSERT_NE(t, nullptr);
    file->release(*t);
    EXPECT_EQ(std::memcmp(t->data, o.bytes.data(), o.bytes.size()), 0);
  }
}
