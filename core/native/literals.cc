// Where the first of a few short literals starts in a body (core/literal-search.ts): the exfiltration guard asks
// it of every chunk of every request body, for the prefixes of Sluice's placeholders, and the egress scan for the
// literals its recognizers start with, so every byte an agent uploads is searched twice. V8's RegExp answers the
// same question with an alternation, but the machine code it compiles depends on the text it was first run on
// (its Boyer-Moore lookahead is tuned to that text's character frequencies): 0.2-1.3 ns a byte in a quiet
// process, 2 in a running Sluice. The loops here cost about the same on any bytes (see firstOf).
#include <node_api.h>

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SLUICE_X86 1
#include <immintrin.h>
#endif

namespace {

// The table core/literal-search.ts builds: a bit per pair of bytes (b0 | b1 << 8) that some literal starts with,
// then per byte value the buckets (bits) of the literals whose first byte is it and of those whose second byte
// is it (a literal's bucket is its first byte's, one of eight), then the nibble masks of the vector loops (for
// each of a literal's first three bytes, per low nibble and per high nibble, the buckets of the literals that
// have a byte with that nibble there; every bucket of a two-byte literal at the third), then each literal as a
// length byte (at least 2) and its bytes.
constexpr size_t PAIRS = 65536 / 8;
constexpr size_t FIRST = PAIRS;
constexpr size_t SECOND = FIRST + 256;
constexpr size_t NIBBLES = SECOND + 256;
constexpr size_t LITERALS = NIBBLES + 3 * 2 * 16;

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
// a literal of the same bucket); only a block where one could is looked at position by position: ~0.35-0.65 ns
// a byte on text, code or random bytes alike (the default egress literals and the placeholder prefixes), where
// a branch per position costs 0.8-0.95. It runs where the CPU has no SSSE3 (or is not x86-64), and the vector
// loops below hand it the last few bytes.
double firstOfScalar(const Table& table, const uint8_t* text, size_t n, size_t i = 0) {
  const uint8_t* first = table.t + FIRST;
  const uint8_t* second = table.t + SECOND;
  for (; i + 8 < n; i += 8) {
    unsigned any = 0;
    for (size_t k = 0; k < 8; k++) any |= first[text[i + k]] & second[text[i + k + 1]];
    if (any == 0) continue;
    for (size_t k = 0; k < 8; k++) if (table.at(text, n, i + k)) return static_cast<double>(i + k);
  }
  for (; i + 1 < n; i++) if (table.at(text, n, i)) return static_cast<double>(i);
  return -1;
}

// The first of the positions i + k (bit k of `candidates`) where a literal starts, or -1.
inline double firstCandidate(const Table& table, const uint8_t* text, size_t n, size_t i, uint32_t candidates) {
  for (; candidates != 0; candidates &= candidates - 1) {
    const size_t at = i + static_cast<size_t>(__builtin_ctz(candidates));
    if (table.at(text, n, at)) return static_cast<double>(at);
  }
  return -1;
}

#ifdef SLUICE_X86
// The "Teddy" filter of Hyperscan: for 16 (32) positions at once, each of the first three bytes split into its two
// nibbles, each nibble looked up (pshufb) in its 16-entry mask of buckets, the six masks ANDed: a position whose
// result has a bucket left could start a literal of that bucket, and only such positions are compared with the
// literals (Table::at, exact). Measured over 64 KB of text, JSON, code, random and repeated bytes with the guard's
// and the egress gate's literals: AVX2 0.09-0.12 ns a byte, SSSE3 0.21-0.32, where the loop above took 0.53-1.0 in
// the same run.
// (Helpers, not lambdas: a lambda does not inherit its caller's target.)
__attribute__((target("ssse3"))) inline __m128i masks128(const uint8_t* m, int k) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(m + 16 * k));
}

__attribute__((target("ssse3"))) inline __m128i buckets128(__m128i lo, __m128i hi, const uint8_t* at) {
  const __m128i low = _mm_set1_epi8(0x0f);
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  return _mm_and_si128(_mm_shuffle_epi8(lo, _mm_and_si128(v, low)), _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(v, 4), low)));
}

__attribute__((target("ssse3"))) double firstOfSsse3(const Table& table, const uint8_t* text, size_t n) {
  const uint8_t* m = table.t + NIBBLES;
  const __m128i lo0 = masks128(m, 0), hi0 = masks128(m, 1), lo1 = masks128(m, 2), hi1 = masks128(m, 3), lo2 = masks128(m, 4), hi2 = masks128(m, 5);
  size_t i = 0;
  for (; i + 16 + 2 <= n; i += 16) {
    const __m128i r = _mm_and_si128(_mm_and_si128(buckets128(lo0, hi0, text + i), buckets128(lo1, hi1, text + i + 1)), buckets128(lo2, hi2, text + i + 2));
    const double found = firstCandidate(table, text, n, i, ~static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(r, _mm_setzero_si128()))) & 0xffffu);
    if (found >= 0) return found;
  }
  return firstOfScalar(table, text, n, i);
}

// vpshufb looks up within each 128-bit half: the 16-entry masks are put in both halves.
__attribute__((target("avx2"))) inline __m256i masks256(const uint8_t* m, int k) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(m + 16 * k)));
}

__attribute__((target("avx2"))) inline __m256i buckets256(__m256i lo, __m256i hi, const uint8_t* at) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
  return _mm256_and_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(v, low)), _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), low)));
}

__attribute__((target("avx2"))) double firstOfAvx2(const Table& table, const uint8_t* text, size_t n) {
  const uint8_t* m = table.t + NIBBLES;
  const __m256i lo0 = masks256(m, 0), hi0 = masks256(m, 1), lo1 = masks256(m, 2), hi1 = masks256(m, 3), lo2 = masks256(m, 4), hi2 = masks256(m, 5);
  size_t i = 0;
  for (; i + 32 + 2 <= n; i += 32) {
    const __m256i r = _mm256_and_si256(_mm256_and_si256(buckets256(lo0, hi0, text + i), buckets256(lo1, hi1, text + i + 1)), buckets256(lo2, hi2, text + i + 2));
    const double found = firstCandidate(table, text, n, i, ~static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(r, _mm256_setzero_si256()))));
    if (found >= 0) return found;
  }
  return firstOfScalar(table, text, n, i);
}
#endif

// The loops, by the index firstOf's optional third argument names them with (tests run each on the same bytes).
enum Path { SCALAR = 0, SSSE3 = 1, AVX2 = 2 };
const char* const PATH_NAMES[] = {"scalar", "ssse3", "avx2"};

bool runs(Path path) {
#ifdef SLUICE_X86
  if (path == SSSE3) return __builtin_cpu_supports("ssse3");
  if (path == AVX2) return __builtin_cpu_supports("avx2");
#endif
  return path == SCALAR;
}

Path best() {
  static const Path chosen = runs(AVX2) ? AVX2 : runs(SSSE3) ? SSSE3 : SCALAR;
  return chosen;
}

double firstOf(const Table& table, const uint8_t* text, size_t n, Path path) {
#ifdef SLUICE_X86
  if (path == AVX2) return firstOfAvx2(table, text, n);
  if (path == SSSE3) return firstOfSsse3(table, text, n);
#endif
  return firstOfScalar(table, text, n);
}

// firstOf(bytes: Uint8Array, table: Uint8Array, path?: number) -> where the leftmost literal starts, or -1. A
// literal cut off by the end of `bytes` is not found. `path` (an index into `paths`) picks a loop; without it the
// fastest this machine runs.
napi_value FirstOf(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    napi_throw_type_error(env, "ERR_SLUICE_NATIVE", "firstOf takes 2 or 3 arguments");
    return nullptr;
  }
  Path path = best();
  if (argc == 3) {
    uint32_t asked = 0;
    if (napi_get_value_uint32(env, argv[2], &asked) != napi_ok || asked > AVX2 || !runs(static_cast<Path>(asked))) {
      napi_throw_range_error(env, "ERR_SLUICE_NATIVE", "not a search loop this machine runs");
      return nullptr;
    }
    path = static_cast<Path>(asked);
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
  if (napi_create_double(env, firstOf(table, text, n, path), &result) != napi_ok) return nullptr;
  return result;
}

// exports: firstOf; `paths`, the loops' names by index (null for a loop this machine cannot run); `path`, the name of
// the one firstOf runs when not told.
napi_value Init(napi_env env, napi_value exports) {
  napi_value f;
  if (napi_create_function(env, "firstOf", NAPI_AUTO_LENGTH, FirstOf, nullptr, &f) != napi_ok) return nullptr;
  if (napi_set_named_property(env, exports, "firstOf", f) != napi_ok) return nullptr;
  napi_value paths;
  if (napi_create_array_with_length(env, 3, &paths) != napi_ok) return nullptr;
  for (uint32_t k = SCALAR; k <= AVX2; k++) {
    napi_value name;
    if (runs(static_cast<Path>(k)) ? napi_create_string_utf8(env, PATH_NAMES[k], NAPI_AUTO_LENGTH, &name) != napi_ok : napi_get_null(env, &name) != napi_ok) return nullptr;
    if (napi_set_element(env, paths, k, name) != napi_ok) return nullptr;
  }
  napi_value chosen;
  if (napi_create_string_utf8(env, PATH_NAMES[best()], NAPI_AUTO_LENGTH, &chosen) != napi_ok) return nullptr;
  if (napi_set_named_property(env, exports, "paths", paths) != napi_ok || napi_set_named_property(env, exports, "path", chosen) != napi_ok) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
