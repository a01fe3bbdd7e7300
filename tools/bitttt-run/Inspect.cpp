//===- Inspect.cpp - bitttt-run inspect: summarise a .bitt header ---------===//
//
// Reads the container through the C API (bitttt_file_*), so inspecting works
// for any readable file, including one compiled for another CPU; it does
// not load the artifact (bitttt-run generate does, and validates fully).
//
//===----------------------------------------------------------------------===//
#include "Common.h"

#include <nlohmann/json.hpp>

#include <cstdio>

using nlohmann::json;

namespace bitttt::run {
namespace {

/// Owns the file handle.
struct FileHandle {
  bitttt_file *file = nullptr;
  ~FileHandle() { bitttt_file_close(file); }
};

std::string text(const json &v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

/// "3 in (1 io, 1 tensor, 1 state)".
std::string countRoles(const json &list) {
  if (!list.is_array())
    return "?";
  size_t io = 0, tensor = 0, state = 0;
  for (const json &b : list) {
    std::string role = b.is_object() ? text(b.value("role", json())) : "";
    io += role == "io";
    tensor += role == "tensor";
    state += role == "state";
  }
  return std::to_string(list.size()) + " (" + std::to_string(io) + " io, " +
         std::to_string(tensor) + " tensor, " + std::to_string(state) +
         " state)";
}

void printFunctions(const json &functions) {
  if (!functions.is_object()) {
    std::printf("functions: none (not compiled; run bitttt-compile)\n");
    return;
  }
  std::printf("functions:\n");
  for (const auto &[name, fn] : functions.items()) {
    if (!fn.is_object()) {
      std::printf("  %s: %s\n", name.c_str(), fn.dump().c_str());
      continue;
    }
    std::printf("  %s: symbol %s, tokens %s, inputs %s, outputs %s\n",
                name.c_str(), text(fn.value("symbol", json())).c_str(),
                text(fn.value("tokens", json())).c_str(),
                countRoles(fn.value("inputs", json())).c_str(),
                countRoles(fn.value("outputs", json())).c_str());
  }
}

void printArtifacts(const json &artifacts, bitttt_file *file) {
  if (!artifacts.is_object() || artifacts.empty()) {
    std::printf("artifacts: none\n");
    return;
  }
  std::printf("artifacts:\n");
  for (const auto &[target, a] : artifacts.items()) {
    std::string tensor = a.is_object() ? text(a.value("tensor", json())) : "?";
    std::string kind = a.is_object() ? text(a.value("kind", json())) : "?";
    bitttt_tensor_info info;
    std::string size = bitttt_file_find(file, tensor.c_str(), &info) == 0
                           ? std::to_string(info.nbytes) + " bytes"
                           : "missing tensor";
    std::printf("  %s: %s, %s (tensor %s)\n", target.c_str(), kind.c_str(),
                size.c_str(), tensor.c_str());
  }
}

/// "tokenizer: BPE, 32000 vocab entries, 31743 merges, 1 added token
/// (special: <|endoftext|>)": read from the header, so it shows even a
/// tokenizer the runtime would refuse.
void printTokenizer(const json &t) {
  if (t.is_null()) {
    std::printf("tokenizer: none\n");
    return;
  }
  if (!t.is_object()) {
    std::printf("tokenizer: malformed (%s)\n", t.type_name());
    return;
  }
  json model = t.value("model", json::object());
  std::string type =
      model.is_object() ? text(model.value("type", json())) : "?";
  size_t vocab = model.is_object() && model.value("vocab", json()).is_object()
                     ? model["vocab"].size()
                     : 0;
  std::string specials;
  json added = t.value("added_tokens", json::array());
  size_t nAdded = added.is_array() ? added.size() : 0;
  if (added.is_array())
    for (const json &a : added)
      if (a.is_object() && a.value("special", false))
        specials +=
            (specials.empty() ? "" : ", ") + text(a.value("content", json()));
  size_t merges = model.is_object() && model.value("merges", json()).is_array()
                      ? model["merges"].size()
                      : 0;
  std::printf("tokenizer: %s, %zu vocab entries, %zu merges, %zu added "
              "token%s (special: %s)\n",
              type.c_str(), vocab, merges, nAdded, nAdded == 1 ? "" : "s",
              specials.empty() ? "none" : specials.c_str());
}

void inspect(const std::string &path) {
  FileHandle h;
  check(bitttt_file_open(path.c_str(), &h.file));
  json header = json::parse(bitttt_file_header_json(h.file), nullptr, false);
  if (header.is_discarded() || !header.is_object())
    throw Error(path + ": the header is not a JSON object");

  static const char *const kinds[] = {"safetensors", ".bitt v1", ".bitt v2"};
  int version = bitttt_file_version(h.file);
  std::printf("file: %s (%s)\n", path.c_str(),
              version >= 0 && version <= 2 ? kinds[version] : "?");
  std::printf("config: %s\n", header.value("config", json()).dump().c_str());
  printTokenizer(header.value("tokenizer", json()));
  json section = header.value("bitttt", json::object());
  if (!section.is_object())
    section = json::object();
  printFunctions(section.value("functions", json()));
  // What the LM head is (docs/lm-head.md); files without the field: f32.
  json head = section.value("lm_head", json());
  if (head.is_object())
    std::printf("lm_head: %s [%s, %s], parts %s\n",
                text(head.value("format", json())).c_str(),
                head.value("rows", json()).dump().c_str(),
                head.value("cols", json()).dump().c_str(),
                head.value("parts", json()).dump().c_str());
  else if (section.contains("functions"))
    std::printf("lm_head: f32 (not recorded)\n");
  json states = section.value("state", json());
  if (states.is_object() && !states.empty()) {
    std::printf("state: %zu values\n", states.size());
    for (const auto &[name, s] : states.items()) {
      json range = s.is_object() ? s.value("range", json()) : json();
      std::string valid =
          range.is_array() && range.size() == 2
              ? ", valid [" + range[0].dump() + ", " + range[1].dump() + ")"
              : "";
      std::printf("  %s: init %s%s\n", name.c_str(),
                  s.is_object() ? text(s.value("init", json())).c_str() : "?",
                  valid.c_str());
    }
  }
  printArtifacts(section.value("artifacts", json()), h.file);

  size_t count = bitttt_file_tensor_count(h.file);
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    bitttt_tensor_info info;
    if (bitttt_file_tensor(h.file, i, &info) == 0)
      total += info.nbytes;
  }
  std::printf("tensors: %zu, %llu bytes\n", count,
              static_cast<unsigned long long>(total));
  const char *cpu = bitttt_cpu_target();
  std::printf("this cpu: %s\n", cpu ? cpu : "unsupported (no AVX2+FMA)");
}

} // namespace

void addInspect(CLI::App &app) {
  auto path = std::make_shared<std::string>();
  CLI::App *cmd = app.add_subcommand(
      "inspect",
      "Summarise a .bitt (or .safetensors) file without loading its code: "
      "the config, the tokenizer, the compiled functions with their symbols "
      "and token counts, the LM head's format, the TTT state (init and valid "
      "range), the "
      "artifacts by target, the number and total size of the tensors.");
  cmd->add_option("MODEL", *path, "The file")->required();
  cmd->callback([path] { inspect(*path); });
}

} // namespace bitttt::run
