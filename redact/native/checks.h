// The checks of the built-in recognizers (redact/builtin-recognizers.ts: `locate` and `check`, then the context
// words, the threshold and the allow-list of redact/detector.ts `consider`) over the UTF-8 bytes the collector
// scanned, so that a match that fails them never reaches JavaScript. They read ASCII only: a value, a context
// window or a version window with any other byte in it goes back to JavaScript (VERDICT_JS), which evaluates the
// match as it always does. Tests hold both to the same spans (test/redact/native-collector.test.ts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "re2/re2.h"

namespace sluice {

/**
 * The bytes kept spans take, a bit per byte: a question about a range reads its words, 64 bytes at a time (a
 * private key spans kilobytes), and starting over for the next text clears a bit per byte.
 */
class Taken {
 public:
  /** Nothing taken, room for `len` bytes. */
  void reset(size_t len);
  /** Some byte of [s, e) is taken. */
  bool overlaps(size_t s, size_t e) const;
  /** Every byte of [s, e) is taken. */
  bool covers(size_t s, size_t e) const;
  /** Takes [s, e). */
  void take(size_t s, size_t e);

 private:
  /** Calls `f(word index, mask of the range's bits in it)` for each word [s, e) touches; stops when f is false. */
  template <typename F>
  bool eachWord(size_t s, size_t e, F f) const;
  std::vector<uint64_t> bits_;
};

/** What a recognizer's `native` names (redact/native-collector.ts NATIVE_CHECKS, in the same order). */
enum class Check : int8_t {
  Js = -1,  // evaluated in JavaScript (custom recognizers)
  None,
  Token,
  Slack,
  Jwt,
  UrlCredentials,
  AwsSecret,
  GenericSecret,
  Card,
  Iban,
  Ssn,
  SsnBare,
  Email,
  Ipv4,
  Ipv6,
  Phone,
  PhoneNational,
};
constexpr int32_t CHECK_COUNT = static_cast<int32_t>(Check::PhoneNational) + 1;

/**
 * What the evaluation says of a match: dropped, kept at its score, kept with the context boost, or left to
 * JavaScript; settled (and boosted): kept after overlaps were settled too (see Evaluation::settle).
 */
constexpr int32_t VERDICT_JS = -1;
constexpr int32_t VERDICT_REJECT = 0;
constexpr int32_t VERDICT_KEEP = 1;
constexpr int32_t VERDICT_BOOSTED = 2;
constexpr int32_t VERDICT_SETTLED = 3;
constexpr int32_t VERDICT_SETTLED_BOOSTED = 4;

/** Fields per match: recognizer, start, end, verdict. */
constexpr size_t FIELDS = 4;

class Evaluation {
 public:
  std::vector<Check> checks;  // per recognizer
  std::vector<int32_t> levels;  // per recognizer: its rank of priority, 0 the highest
  int32_t levelCount = 0;       // 1 + the highest rank
  std::vector<double> scores;
  std::vector<std::vector<std::string>> context;  // lower-cased ASCII words (others never match ASCII windows)
  double threshold = 0;
  double boost = 0;
  size_t window = 0;
  std::unordered_set<std::string> allow;  // lower-cased
  std::vector<std::string> versionWords;  // VERSION_WORDS (ASCII ones; the others never end an ASCII window)
  std::shared_ptr<const re2::RE2> notSecret, ipv6;  // PLACEHOLDER_VALUES or CODE_REFERENCE; IPV6_ADDRESS
  uint8_t ibanLength[26 * 26] = {};  // by country, 0 for none
  double kLogK[256] = {};            // k * Math.log2(k), as JavaScript computes it
  double log2[257] = {};             // Math.log2(n)

  /**
   * Settles the matches in `found` (FIELDS each, in the order found) as detector.ts `detectIn` does: a level of
   * priority at a time, each match evaluated unless its value is wholly covered by spans already kept, the kept
   * ones of a level ranked by score, length and position, and a span kept when it overlaps none kept before it.
   * `found` becomes the kept spans in text order, VERDICT_SETTLED(_BOOSTED), and true is returned; or, when some
   * match needs JavaScript, each match gets its own verdict (evaluateEach) and false is returned.
   */
  bool settle(std::vector<int32_t>* found, const uint8_t* text, size_t len);

  /** Each match evaluated alone: rejected ones left out, kept ones narrowed, the rest VERDICT_JS. */
  void evaluateEach(std::vector<int32_t>* found, const uint8_t* text, size_t len) const;

 private:
  struct Kept {
    int32_t rec;
    ptrdiff_t start, end;
    double score;
    bool boosted;
  };
  /**
   * Evaluates the match of recognizer `rec` at bytes [*start, *end) of `text`: narrows the two to the value (for a
   * verdict to keep), or leaves them as they are (VERDICT_JS). With `taken` (the spans kept at higher priorities),
   * a value it could never be kept for is rejected before any check.
   */
  int32_t evaluate(size_t rec, const uint8_t* text, size_t len, size_t* start, size_t* end, const Taken* taken) const;

  enum Outcome { REJECT, PASS, DEFER };
  enum Answer { NO, YES, UNSURE };
  Outcome check(Check k, const uint8_t* text, size_t len, ptrdiff_t* s, ptrdiff_t* e) const;
  bool looksRandom(const uint8_t* v, size_t n, double ratio) const;
  Answer versionBefore(std::string_view w, bool whole) const;
  Outcome secretValueLooksReal(const uint8_t* v, size_t n) const;
  // Scratch of settle (collect calls are synchronous, on the JavaScript thread).
  Taken taken_;
  std::vector<int32_t> order_, levelStart_, levelFill_;
  std::vector<Kept> level_, kept_;
  std::vector<uint64_t> keys_;
};

}  // namespace sluice
