//===- BittTestUtil.h - temp dirs and hand-made containers ------*- C++ -*-===//
#ifndef BITTTT_TEST_BITTTESTUTIL_H
#define BITTTT_TEST_BITTTESTUTIL_H

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace bitttt::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with its files.
class TempDir {
public:
  TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/bitttt-test-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()))
      path_ = buf.data();
  }
  ~TempDir() {
    for (const std::string &name : list())
      ::unlink((path_ + "/" + name).c_str());
    ::rmdir(path_.c_str());
  }
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }
  /// Names of the entries in the directory (sorted, no "." or "..").
  std::vector<std::string> list() const {
    std::vector<std::string> names;
    if (DIR *dir = ::opendir(path_.c_str())) {
      while (struct dirent *e = ::readdir(dir)) {
        std::string name = e->d_name;
        if (name != "." && name != "..")
          names.push_back(name);
      }
      ::closedir(dir);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

private:
  std::string path_;
};

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

inline std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s.push_back(char((v >> (8 * i)) & 0xff));
  return s;
}

/// A safetensors file: u64 header length, header text (padded with spaces to
/// `headerLen` when given), data.
inline std::string safetensors(const std::string &header,
                               const std::string &data,
                               uint64_t headerLen = 0) {
  std::string h = header;
  if (headerLen > h.size())
    h.append(headerLen - h.size(), ' ');
  return le64(h.size()) + h + data;
}

/// A .bitt container. With `align` (v2) both headers are padded so that the
/// safetensors part and the data section start on 64-byte boundaries.
inline std::string bitt(const std::string &header, const std::string &stHeader,
                        const std::string &data, bool align) {
  std::string h = header, s = stHeader;
  if (align) {
    while ((12 + h.size()) % 64)
      h.push_back(' ');
    while ((8 + s.size()) % 64)
      s.push_back(' ');
  }
  return "BITT" + le64(h.size()) + h + safetensors(s, data);
}

/// A v2 BITT header with the given config text.
inline std::string v2Header(const std::string &extra = "") {
  return R"({"config":{"hidden_dim":32},"tokenizer":null,"bitttt":{"format_version":2)" +
         extra + "}}";
}

} // namespace bitttt::test

#endif // BITTTT_TEST_BITTTESTUTIL_H
