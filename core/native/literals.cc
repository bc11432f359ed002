// Where the first of a few short literals starts in a body (core/literal-search.ts): the exfiltration guard asks
// it of every chunk of every request body, for the prefixes of Sluice's placeholders. V8's RegExp answers the
// same question with an alternation, but the machine code it compiles depends on the text it was first run on
// (its Boyer-Moore lookahead is tuned to that text's character frequencies): 0.2-1.3 ns a byte in a quiet
// process, 2 in a running Sluice. This loop costs about the same on any bytes (see firstOf).
#include <node_api.h>

#include <cstdint>
#include <cstring>

namespace {

// The table core/literal-search.ts builds: a bit per pair of bytes (b0 | b1 << 8) that some literal starts with,
// then per byte value the buckets (bits) of the literals whose first byte is it and of those whose second byte
// is it (a literal's bucket is its first byte's, one of eight), then each literal as a length byte (at least 2)
// and its bytes.
constexpr size_t PAIRS = 65536 / 8;
constexpr size_t FIRST = PAIRS;
constexpr size_t SECOND = FIRST + 256;
constexpr size_t LITERALS = SECOND + 256;

bool bytesOf(napi_env env, napi_value v, const uint8_t** data, size_t* len) {
  bool is = false;
  napi_typedarray_type type;
  void* p = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is || napi_get_typedarray_info(env, v, &type, len, &p, &buffer, &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_SLUICE_NATIVE", "expected a Uint8Array");
    return false;
  }
  *data = static_cast<const uint8_t*>(p);
  return true;
}

struct Table {
  const uint8_t* t;
  size_t len;
  bool pair(const uint8_t* text, size_t i) const {
    const unsigned pair = text[i] | (static_cast<unsigned>(text[i + 1]) << 8);
    return (t[pair >> 3] & (1u << (pair & 7))) != 0;
  }
  bool literalAt(const uint8_t* text, size_t n, size_t i) const {
    for (size_t k = LITERALS; k < len; k += 1 + t[k]) {
      const size_t l = t[k];
      if (l <= n - i && t[k + 1] == text[i] && t[k + 2] == text[i + 1] && std::memcmp(text + i, t + k + 1, l) == 0) return true;
    }
    return false;
  }
  bool at(const uint8_t* text, size_t n, size_t i) const { return pair(text, i) && literalAt(text, n, i); }
};

// Eight positions at a time without a branch (whether their byte could start a literal and the next be second in
// a literal of the same bucket); only a block where one could is looked at position by position: ~0.45-0.65 ns
// a byte on text, code or random bytes alike (the default egress literals and the placeholder prefixes), where
// a branch per position costs 0.8-0.95.
double firstOf(const Table& table, const uint8_t* text, size_t n) {
  const uint8_t* first = table.t + FIRST;
  const uint8_t* second = table.t + SECOND;
  size_t i = 0;
  for (; i + 8 < n; i += 8) {
    unsigned any = 0;
    for (size_t k = 0; k < 8; k++) any |= first[text[i + k]] & second[text[i + k + 1]];
    if (any == 0) continue;
    for (size_t k = 0; k < 8; k++) if (table.at(text, n, i + k)) return static_cast<double>(i + k);
  }
  for (; i + 1 < n; i++) if (table.at(text, n, i)) return static_cast<double>(i);
  return -1;
}

// firstOf(bytes: Uint8Array, table: Uint8Array) -> where the leftmost literal starts, or -1. A literal cut off by
// the end of `bytes` is not found.
napi_value FirstOf(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 2) {
    napi_throw_type_error(env, "ERR_SLUICE_NATIVE", "firstOf takes 2 arguments");
    return nullptr;
  }
  const uint8_t* text = nullptr;
  size_t n = 0;
  Table table{nullptr, 0};
  if (!bytesOf(env, argv[0], &text, &n) || !bytesOf(env, argv[1], &table.t, &table.len)) return nullptr;
  bool valid = table.len >= LITERALS;
  for (size_t k = LITERALS; valid && k < table.len; k += 1 + table.t[k]) valid = table.t[k] >= 2 && k + 1 + table.t[k] <= table.len;
  if (!valid) {
    napi_throw_range_error(env, "ERR_SLUICE_NATIVE", "not a literal table made by core/literal-search.ts");
    return nullptr;
  }
  napi_value result;
  if (napi_create_double(env, firstOf(table, text, n), &result) != napi_ok) return nullptr;
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value f;
  if (napi_create_function(env, "firstOf", NAPI_AUTO_LENGTH, FirstOf, nullptr, &f) != napi_ok) return nullptr;
  if (napi_set_named_property(env, exports, "firstOf", f) != napi_ok) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
