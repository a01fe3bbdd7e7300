//===- BittValidationTest.cpp - the reader rejects malformed files --------===//
//
// One test per rule of docs/bitt-format.md, on hand-made or hand-corrupted
// files. Each checks the error code and that the message names the file and
// the offending tensor or field.
//
//===----------------------------------------------------------------------===//
#include "BittTestUtil.h"
#include "bitttt/Format/BittFile.h"

using namespace bitttt::format;
using bitttt::test::bitt;
using bitttt::test::le64;
using bitttt::test::safetensors;
using bitttt::test::TempDir;
using bitttt::test::v2Header;

namespace {

class BittValidation : public ::testing::Test {
protected:
  /// Writes `bytes` to a file, opens it and expects failure with `code` and
  /// a message "<path>: ..." containing every fragment.
  void expectFailure(const std::string &bytes, ErrorCode code,
                     std::vector<std::string> fragments) {
    std::string path = dir.file("model.bitt");
    bitttt::test::writeBytes(path, bytes);
    std::unique_ptr<BittFile> file;
    Status s = BittFile::open(path, file);
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_EQ(file, nullptr);
    EXPECT_EQ(s.message().rfind(path + ": ", 0), 0u) << s.message();
    for (const std::string &f : fragments)
      EXPECT_NE(s.message().find(f), std::string::npos)
          << "message: " << s.message() << "\nexpected: " << f;
  }

  void expectOk(const std::string &bytes) {
    std::string path = dir.file("ok.bitt");
    bitttt::test::writeBytes(path, bytes);
    std::unique_ptr<BittFile> file;
    Status s = BittFile::open(path, file);
    EXPECT_TRUE(s.isOk()) << s.message();
  }

  TempDir dir;
};

/// A valid v2 file: 'a' F32 [4] at 0, 'b' F32 [2] at 64.
const std::string kSt =
    R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[64,72]}})";
const std::string kData(72, '\x11');

std::string entry(const std::string &name, const std::string &dtype,
                  const std::string &shape, uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," +
         std::to_string(end) + "]}";
}

} // namespace

TEST_F(BittValidation, ValidBaselineOpens) {
  expectOk(bitt(v2Header(), kSt, kData, true));
  expectOk(bitt("{}", kSt, kData, false)); // v1: no alignment required
  expectOk(safetensors(kSt, kData));       // plain safetensors
}

TEST_F(BittValidation, MissingFileIsAnIOError) {
  std::unique_ptr<BittFile> file;
  Status s = BittFile::open(dir.file("absent.bitt"), file);
  EXPECT_EQ(s.code(), ErrorCode::IO);
  EXPECT_NE(s.message().find("absent.bitt: cannot open"), std::string::npos)
      << s.message();
  s = BittFile::open(dir.path(), file);
  EXPECT_EQ(s.code(), ErrorCode::IO);
  EXPECT_NE(s.message().find("not a regular file"), std::string::npos);
}

TEST_F(BittValidation, EmptyFile) {
  expectFailure("", ErrorCode::Format, {"truncated: the file is empty"});
}

TEST_F(BittValidation, TruncatedBeforeHeaderLength) {
  expectFailure("BITT\x01\x02", ErrorCode::Format,
                {"truncated: the header length field needs 12 bytes"});
}

TEST_F(BittValidation, HeaderLengthPastEndOfFile) {
  std::string bytes = "BITT" + le64(4096) + std::string(1188, ' ');
  expectFailure(bytes, ErrorCode::Format,
                {"truncated: header length 4096 past end of file (1200 "
                 "bytes)"});
}

TEST_F(BittValidation, TruncatedData) {
  std::string good = bitt(v2Header(), kSt, kData, true);
  expectFailure(good.substr(0, good.size() - 4), ErrorCode::Format,
                {"tensor 'b': data_offsets [64, 72] past end of data section "
                 "(68 bytes)"});
}

TEST_F(BittValidation, TruncatedSafetensorsHeaderLength) {
  expectFailure("BITT" + le64(2) + "{}" + "abc", ErrorCode::Format,
                {"truncated: the safetensors header length at offset 14 is "
                 "past end of file (17 bytes)"});
}

TEST_F(BittValidation, SafetensorsHeaderLengthPastEndOfFile) {
  std::string bytes = "BITT" + le64(2) + "{}" + le64(999) + "{}";
  expectFailure(bytes, ErrorCode::Format,
                {"truncated: safetensors header length 999 past end of "
                 "file (24 bytes)"});
}

TEST_F(BittValidation, BadMagic) {
  std::string good = bitt(v2Header(), kSt, kData, true);
  good[3] = 'X';
  expectFailure(good, ErrorCode::Format,
                {"bad magic 'BITX'", "neither a .bitt container"});
}

TEST_F(BittValidation, InvalidHeaderJson) {
  expectFailure(bitt(R"({"config": {"a": )", kSt, kData, false),
                ErrorCode::Format, {"invalid header JSON"});
  expectFailure(bitt("[1, 2]", kSt, kData, false), ErrorCode::Format,
                {"header JSON is an array, expected an object"});
  expectFailure(bitt(std::string("{}\0", 3), kSt, kData, false),
                ErrorCode::Format, {"invalid header JSON: contains a NUL"});
}

TEST_F(BittValidation, InvalidSafetensorsJson) {
  expectFailure(bitt("{}", R"({"a":{"dtype":"F32",)", kData, false),
                ErrorCode::Format, {"invalid safetensors header JSON"});
  expectFailure(safetensors(R"({"a":1})", kData), ErrorCode::Format,
                {"tensor 'a': entry is a number, expected an object"});
}

TEST_F(BittValidation, OverlappingOffsets) {
  std::string st = "{" + entry("a", "F32", "[4]", 0, 16) + "," +
                   entry("b", "F32", "[4]", 8, 24) + "}";
  expectFailure(bitt("{}", st, std::string(24, 0), false), ErrorCode::Format,
                {"tensors 'a' [0, 16] and 'b' [8, 24] overlap"});
  // A tensor nested inside a larger one overlaps too.
  st = "{" + entry("big", "U8", "[64]", 0, 64) + "," +
       entry("mid", "U8", "[4]", 8, 12) + "," +
       entry("z", "U8", "[4]", 20, 24) + "}";
  expectFailure(safetensors(st, std::string(64, 0)), ErrorCode::Format,
                {"tensors 'big' [0, 64] and 'mid' [8, 12] overlap"});
  // Empty tensors occupy no bytes and overlap nothing.
  st = "{" + entry("a", "F32", "[4]", 0, 16) + "," +
       entry("e", "F32", "[0]", 8, 8) + "}";
  expectOk(safetensors(st, std::string(16, 0)));
}

TEST_F(BittValidation, WrongByteSize) {
  std::string st =
      "{" + entry("layers.0.ttt.q_proj.weight", "F32", "[32, 32]", 0, 100) +
      "}";
  std::string path = dir.file("model.bitt");
  expectFailure(bitt(v2Header(), st, std::string(100, 0), true),
                ErrorCode::Format,
                {path + ": tensor 'layers.0.ttt.q_proj.weight': data_offsets "
                        "[0, 100] do not match shape [32, 32] x F32 (4096 "
                        "bytes)"});
}

TEST_F(BittValidation, ShapeOverflow) {
  std::string st =
      "{" + entry("huge", "F32", "[4294967296, 4294967296, 16]", 0, 0) + "}";
  expectFailure(safetensors(st, ""), ErrorCode::Format,
                {"tensor 'huge': shape [4294967296, 4294967296, 16] x F32 "
                 "overflows"});
}

TEST_F(BittValidation, OffsetsOutOfOrderOrMalformed) {
  expectFailure(
      safetensors("{" + entry("t", "U8", "[0]", 8, 4) + "}", std::string(8, 0)),
      ErrorCode::Format,
      {"tensor 't': data_offsets [8, 4]: begin is past end"});
  expectFailure(
      safetensors(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0]}})",
                  std::string(8, 0)),
      ErrorCode::Format, {"tensor 't': field 'data_offsets' is [0]"});
  expectFailure(
      safetensors(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})",
                  std::string(8, 0)),
      ErrorCode::Format, {"tensor 't': field 'data_offsets'"});
}

TEST_F(BittValidation, UnknownDtype) {
  std::string st = "{" + entry("w", "F7", "[2]", 0, 8) + "}";
  expectFailure(bitt(v2Header(), st, std::string(8, 0), true),
                ErrorCode::Format, {"tensor 'w': unknown dtype 'F7'"});
}

TEST_F(BittValidation, MissingOrMistypedTensorFields) {
  std::string data(8, 0);
  expectFailure(
      safetensors(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", data),
      ErrorCode::Format, {"tensor 'w': missing field 'dtype'"});
  expectFailure(
      safetensors(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", data),
      ErrorCode::Format, {"tensor 'w': missing field 'shape'"});
  expectFailure(safetensors(R"({"w":{"dtype":"F32","shape":[2]}})", data),
                ErrorCode::Format,
                {"tensor 'w': missing field 'data_offsets'"});
  expectFailure(safetensors(R"({"w":{"dtype":4,"shape":[2],)"
                            R"("data_offsets":[0,8]}})",
                            data),
                ErrorCode::Format, {"tensor 'w': field 'dtype' is a number"});
  expectFailure(safetensors("{" + entry("w", "F32", "[-2]", 0, 8) + "}", data),
                ErrorCode::Format,
                {"tensor 'w': field 'shape'[0] is -2, expected a "
                 "non-negative integer"});
  expectFailure(safetensors("{" + entry("w", "F32", "[2.5]", 0, 8) + "}", data),
                ErrorCode::Format, {"tensor 'w': field 'shape'[0] is 2.5"});
}

TEST_F(BittValidation, MetadataMustMapStringsToStrings) {
  expectFailure(safetensors(R"({"__metadata__":{"n":1}})", ""),
                ErrorCode::Format,
                {"safetensors field '__metadata__.n' is a number, expected a "
                 "string"});
}

TEST_F(BittValidation, MisalignedV2Tensor) {
  std::string st = "{" + entry("a", "U8", "[4]", 0, 4) + "," +
                   entry("b", "F32", "[1]", 4, 8) + "}";
  expectFailure(bitt(v2Header(), st, std::string(8, 0), true),
                ErrorCode::Format,
                {"tensor 'b': data_offsets[0] = 4 is not a multiple of 64"});
  // The same layout is fine in v1.
  expectOk(bitt("{}", st, std::string(8, 0), false));
}

TEST_F(BittValidation, MisalignedV2Sections) {
  // Header not padded: the safetensors part starts off a 64-byte boundary.
  expectFailure(bitt(v2Header(), kSt, kData, false), ErrorCode::Format,
                {"header length", "not a multiple of 64"});
  // Header padded, safetensors header not.
  std::string h = v2Header();
  while ((12 + h.size()) % 64)
    h.push_back(' ');
  expectFailure("BITT" + le64(h.size()) + h + safetensors(kSt, kData),
                ErrorCode::Format,
                {"safetensors header length",
                 "data section starts at "
                 "offset",
                 "not a multiple of 64"});
}

TEST_F(BittValidation, MissingFormatVersion) {
  expectFailure(
      bitt(R"({"config":{},"bitttt":{"packed":{}}})", kSt, kData, true),
      ErrorCode::Format, {"header field 'bitttt.format_version' is missing"});
}

TEST_F(BittValidation, BadFormatVersion) {
  expectFailure(bitt(R"({"bitttt":{"format_version":"2"}})", kSt, kData, true),
                ErrorCode::Format,
                {"header field 'bitttt.format_version' is \"2\", expected an "
                 "integer"});
  expectFailure(bitt(R"({"bitttt":{"format_version":3}})", kSt, kData, true),
                ErrorCode::Unsupported,
                {"header field 'bitttt.format_version' is 3"});
  expectFailure(bitt(R"({"bitttt":[2]})", kSt, kData, true), ErrorCode::Format,
                {"header field 'bitttt' is an array"});
}

TEST_F(BittValidation, PaddingTensorsMustBeBytes) {
  std::string st = "{" + entry("a", "F32", "[4]", 0, 16) + "," +
                   entry("__pad__.1", "F32", "[12]", 16, 64) + "}";
  expectFailure(bitt(v2Header(), st, std::string(64, 0), true),
                ErrorCode::Format,
                {"padding tensor '__pad__.1' is F32 [12], expected a 1-D U8"});
}

TEST_F(BittValidation, PackedWeightIndex) {
  std::string st = "{" + entry("w.codes", "U8", "[2, 32]", 0, 64) + "," +
                   entry("w.scale", "F32", "[]", 64, 68) + "}";
  std::string data(68, 0);
  auto packed = [](const std::string &body) {
    return v2Header(R"(,"packed":{"w":{)" + body + "}}");
  };
  std::string good = R"("codes":"w.codes","scale":"w.scale","rows":2,)"
                     R"("cols":100,"layout":"i2_b128")";
  expectOk(bitt(packed(good), st, data, true));
  expectFailure(bitt(packed(R"("codes":"w.codes","scale":"w.scale",)"
                            R"("rows":2,"cols":200,"layout":"i2_b128")"),
                     st, data, true),
                ErrorCode::Format,
                {"header field 'bitttt.packed.w.codes': tensor 'w.codes' has "
                 "shape [2, 32], expected [2, 64]"});
  expectFailure(bitt(packed(R"("codes":"w.codes","scale":"nope","rows":2,)"
                            R"("cols":100,"layout":"i2_b128")"),
                     st, data, true),
                ErrorCode::Format,
                {"header field 'bitttt.packed.w.scale': tensor 'nope' is "
                 "missing"});
  expectFailure(bitt(packed(R"("codes":"w.codes","scale":"w.scale",)"
                            R"("rows":2,"cols":100)"),
                     st, data, true),
                ErrorCode::Format,
                {"header field 'bitttt.packed.w.layout' is missing"});
  expectFailure(bitt(packed(R"("codes":"w.codes","scale":"w.scale",)"
                            R"("rows":2,"cols":100,"layout":"tl2")"),
                     st, data, true),
                ErrorCode::Unsupported,
                {"header field 'bitttt.packed.w.layout' is \"tl2\""});
  std::string withLatent =
      "{" + entry("w", "F32", "[1]", 128, 132) + "," + st.substr(1);
  expectFailure(bitt(packed(good), withLatent, std::string(132, 0), true),
                ErrorCode::Format,
                {"header field 'bitttt.packed.w': the latent tensor 'w' is "
                 "present too"});
}

TEST_F(BittValidation, ArtifactIndex) {
  std::string st = "{" + entry("so", "U8", "[10]", 0, 10) + "," +
                   entry("f", "F32", "[1]", 64, 68) + "}";
  std::string data(68, 0);
  auto artifacts = [](const std::string &body) {
    return v2Header(R"(,"artifacts":{"x86-64-v3":)" + body + "}");
  };
  expectOk(
      bitt(artifacts(R"({"tensor":"so","kind":"elf-so"})"), st, data, true));
  expectFailure(bitt(artifacts(R"({"tensor":"gone"})"), st, data, true),
                ErrorCode::Format,
                {"header field 'bitttt.artifacts.x86-64-v3.tensor': tensor "
                 "'gone' is missing"});
  expectFailure(bitt(artifacts(R"({"tensor":"f"})"), st, data, true),
                ErrorCode::Format,
                {"header field 'bitttt.artifacts.x86-64-v3.tensor': tensor "
                 "'f' is F32, expected U8"});
  expectFailure(bitt(artifacts(R"({"kind":"elf-so"})"), st, data, true),
                ErrorCode::Format,
                {"header field 'bitttt.artifacts.x86-64-v3.tensor' is "
                 "missing"});
  expectOk(bitt(artifacts(R"({"tensor":"so","xxh3_64":"0123456789abcdef"})"),
                st, data, true));
  for (const char *bad :
       {R"("0123")", "7", R"("0123456789ABCDEF")", R"("0123456789abcdeg")"})
    expectFailure(
        bitt(artifacts(std::string(R"({"tensor":"so","xxh3_64":)") + bad + "}"),
             st, data, true),
        ErrorCode::Format,
        {"header field 'bitttt.artifacts.x86-64-v3.xxh3_64' is not 16 "
         "lowercase hex digits"});
}
