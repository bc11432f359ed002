// The detector's hot loop (redact/detector.ts, `collect`) in C++ over the RE2 that the `re2` package already
// loaded: per chunk one RE2::Set over the prefilters, then each recognizer that fired over its runs of chunks.
// Same chunks, same sets, same matches in the same order as the JavaScript loop; what it saves is ~450 calls
// into node-re2 per entity-dense 10 KB text (100-150 ns each) and a Buffer view per slice. Two things the parse
// tree of a pattern tells spare searches: a literal every match starts with (a lead: memchr for it, then an
// anchored match, one pass where an unanchored search makes two) and literals every match contains (needs: a
// part of a range without one is not searched). Then, for the built-ins, the matches are evaluated and their
// overlaps settled here too (checks.cc), so that JavaScript gets the spans.
//
// It links against re2.node (the `re2` package's addon, which exports RE2's symbols): one RE2 in the process,
// built once. Node must have loaded re2.node before this file (redact/native-collector.ts imports `re2` first),
// and this module registers itself from a static constructor: Node would otherwise look its entry point up in
// the libraries this one needs and find re2.node's.
#include <node_api.h>

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "checks.h"
#include "re2/re2.h"
#include "re2/regexp.h"
#include "re2/set.h"

namespace {

struct Group {
  std::unique_ptr<re2::RE2::Set> set;
  std::vector<int32_t> indexes;  // recognizer index of each pattern of the set
};

constexpr size_t NOT_FIRED = SIZE_MAX;

struct Engine {
  std::vector<std::unique_ptr<re2::RE2>> res;
  std::vector<size_t> minLength;  // fewest bytes a match of each recognizer spans (see minBytes)
  std::vector<std::string> lead;  // the literal every match starts with, when it is worth searching for (see leadOf)
  std::vector<std::vector<std::vector<std::string>>> needs;  // what every match contains (see needsOf)
  std::vector<uint8_t> whole;    // 1: runs over whole texts (multi-line, or a pattern with assertions)
  std::vector<uint8_t> fromFirst; // 1: a whole-text run starts at the first chunk its prefilter fired in
  std::vector<Group> chunkSets;  // empty with `noSets`: every recognizer fires everywhere
  std::vector<Group> wholeSets;
  bool noSets = false;
  size_t chunk = 256;
  std::unique_ptr<sluice::Evaluation> eval;  // null: every match goes to JavaScript unevaluated
  // Scratch, reused by every collect (calls are synchronous, on the JS thread).
  std::vector<std::vector<std::pair<size_t, size_t>>> fired;
  std::vector<size_t> wholeFrom;  // where each whole-text run starts, NOT_FIRED when it does not run
  std::vector<int> matched;
  std::vector<int32_t> firing;
  std::vector<uint32_t> units;
  std::vector<int32_t> found;  // matches as (recognizer, start, end, verdict)
};

bool ok(napi_env env, napi_status status, const char* what) {
  if (status == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_SLUICE_NATIVE", what);
  return false;
}

/** Throws a TypeError saying `what`; false, for `return fail(...)`. */
bool fail(napi_env env, const char* what) {
  napi_throw_type_error(env, "ERR_SLUICE_NATIVE", what);
  return false;
}

/** The call's `n` arguments into argv; a TypeError saying `usage` when there are not exactly `n`. */
bool args(napi_env env, napi_callback_info info, napi_value* argv, size_t n, const char* usage) {
  size_t argc = n;
  if (!ok(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "bad call")) return false;
  return argc == n || fail(env, usage);
}

bool getString(napi_env env, napi_value v, std::string* out) {
  size_t n = 0;
  if (!ok(env, napi_get_value_string_utf8(env, v, nullptr, 0, &n), "expected a string")) return false;
  out->assign(n, '\0');
  return ok(env, napi_get_value_string_utf8(env, v, out->data(), n + 1, &n), "expected a string");
}

bool getArray(napi_env env, napi_value v, std::vector<napi_value>* out) {
  uint32_t n = 0;
  if (!ok(env, napi_get_array_length(env, v, &n), "expected an array")) return false;
  out->resize(n);
  for (uint32_t i = 0; i < n; i++) if (!ok(env, napi_get_element(env, v, i, &(*out)[i]), "expected an array")) return false;
  return true;
}

bool getInt(napi_env env, napi_value v, int32_t* out) {
  return ok(env, napi_get_value_int32(env, v, out), "expected an integer");
}

bool getNamed(napi_env env, napi_value obj, const char* name, napi_value* out) {
  bool has = false;
  if (!ok(env, napi_has_named_property(env, obj, name, &has), "expected an object")) return false;
  if (!has) return fail(env, (std::string("compile: the evaluation has no ") + name).c_str());
  return ok(env, napi_get_named_property(env, obj, name, out), "expected an object");
}

bool getDouble(napi_env env, napi_value v, double* out) {
  return ok(env, napi_get_value_double(env, v, out), "expected a number");
}

/**
 * A lower bound on the bytes of any match of `re`, from its parse tree (a rune counts one byte, whatever its
 * encoding or case folding): a search over fewer bytes than this cannot match and is not made. Every range of
 * chunks ends with a search that finds nothing, and most of them start a few bytes from the end of a line.
 */
size_t minBytes(re2::Regexp* re) {  // not const: the accessors are not
  constexpr size_t CAP = 1 << 20;
  re2::Regexp** sub = re->sub();
  size_t n = 0;
  switch (re->op()) {
    case re2::kRegexpLiteral:
    case re2::kRegexpAnyChar:
    case re2::kRegexpAnyByte:
    case re2::kRegexpCharClass:
      return 1;
    case re2::kRegexpLiteralString:
      return static_cast<size_t>(re->nrunes());
    case re2::kRegexpConcat:
      for (int i = 0; i < re->nsub(); i++) n = std::min(CAP, n + minBytes(sub[i]));
      return n;
    case re2::kRegexpAlternate:
      n = CAP;
      for (int i = 0; i < re->nsub(); i++) n = std::min(n, minBytes(sub[i]));
      return n;
    case re2::kRegexpPlus:
    case re2::kRegexpCapture:
      return minBytes(sub[0]);
    case re2::kRegexpRepeat:
      return std::min(CAP, static_cast<size_t>(std::max(re->min(), 0)) * minBytes(sub[0]));
    default:
      return 0;  // star, quest, empty-width assertions, empty match; no-match too (0 is a bound for anything)
  }
}

/**
 * The ASCII, case-sensitive literal a literal node of a parse tree stands for (of a literal string, its ASCII
 * start); empty for any other node, or one that folds case.
 */
std::string literalOf(re2::Regexp* re) {
  std::string literal;
  if ((re->parse_flags() & re2::Regexp::FoldCase) != 0) return literal;
  if (re->op() == re2::kRegexpLiteral && re->rune() < 0x80) literal.push_back(static_cast<char>(re->rune()));
  if (re->op() == re2::kRegexpLiteralString) {
    for (int i = 0; i < re->nrunes() && re->runes()[i] < 0x80; i++) literal.push_back(static_cast<char>(re->runes()[i]));
  }
  return literal;
}

/** Leads shorter than this are not searched for: a common byte would start an anchored search at every turn. */
constexpr size_t LEAD_MIN = 3;

/**
 * The literal every match of `re` starts with, from its parse tree (re2's parser factors a prefix shared by all
 * alternatives out in front): ASCII and case-sensitive, LEAD_MIN bytes or more, else empty. A recognizer with
 * one is searched for it (find), and each place it stands is tried with an anchored match: one forward
 * pass over the match, where an unanchored search makes a second, backwards, to find where it starts.
 */
std::string leadOf(re2::Regexp* re) {
  while (re->op() == re2::kRegexpConcat || re->op() == re2::kRegexpCapture) {
    if (re->nsub() < 1) return "";
    re = re->sub()[0];
  }
  std::string lead = literalOf(re);
  return lead.size() < LEAD_MIN ? "" : lead;
}

/**
 * One thing every match contains: one of these literals (one literal, or one per branch of an alternation such as
 * `=|:=|=>|:`).
 */
using Need = std::vector<std::string>;

/** Adds what every match of `re` contains to `out`, from its parse tree: ASCII, case-sensitive literals. */
void addNeeds(re2::Regexp* re, std::vector<Need>* out) {
  switch (re->op()) {
    case re2::kRegexpLiteral:
    case re2::kRegexpLiteralString: {
      std::string literal = literalOf(re);
      if (!literal.empty()) out->push_back({literal});
      return;
    }
    case re2::kRegexpConcat:
      for (int i = 0; i < re->nsub(); i++) addNeeds(re->sub()[i], out);
      return;
    case re2::kRegexpCapture:
    case re2::kRegexpPlus:
      addNeeds(re->sub()[0], out);
      return;
    case re2::kRegexpRepeat:
      if (re->min() >= 1) addNeeds(re->sub()[0], out);
      return;
    case re2::kRegexpAlternate: {
      // A literal from every branch, or nothing.
      Need any;
      for (int i = 0; i < re->nsub(); i++) {
        std::vector<Need> branch;
        addNeeds(re->sub()[i], &branch);
        if (branch.empty() || branch.front().size() != 1) return;
        any.push_back(branch.front().front());
      }
      // A literal that contains another one of the set adds nothing to it (`:=` where there is `:`).
      Need least;
      for (const std::string& literal : any) {
        bool redundant = std::any_of(any.begin(), any.end(), [&](const std::string& o) { return o != literal && literal.find(o) != std::string::npos; });
        if (!redundant && std::find(least.begin(), least.end(), literal) == least.end()) least.push_back(literal);
      }
      out->push_back(least);
      return;
    }
    default:
      return;  // optional parts, classes: nothing that every match has
  }
}

/**
 * Up to NEEDS_MAX things every match of `re` contains, single literals first, longest first. A search over a part
 * of a range where one of them does not occur cannot match and is not made: most ranges end with a search that
 * finds nothing (an e-mail's `@`, an address's `.`, an assignment's `=` or `:`: a memchr instead of a pass of the
 * DFA over the rest of the range).
 */
constexpr size_t NEEDS_MAX = 2;
std::vector<Need> needsOf(re2::Regexp* re) {
  std::vector<Need> needs;
  addNeeds(re, &needs);
  auto shortest = [](const Need& n) {
    size_t least = SIZE_MAX;
    for (const std::string& s : n) least = std::min(least, s.size());
    return least;
  };
  std::stable_sort(needs.begin(), needs.end(), [&](const Need& a, const Need& b) {
    if (a.size() != b.size()) return a.size() < b.size();
    return shortest(a) > shortest(b);
  });
  needs.erase(std::unique(needs.begin(), needs.end()), needs.end());
  if (needs.size() > NEEDS_MAX) needs.resize(NEEDS_MAX);
  return needs;
}

/**
 * Where `needle` first stands in text[from, to), or nullptr: memchr for its first byte, then a compare (needles are
 * a few bytes; glibc's memmem prepares a two-way search on every call, which cost more than the search).
 */
const char* find(std::string_view text, size_t from, size_t to, const std::string& needle) {
  const char* p = text.data() + from;
  const char* end = text.data() + to;
  const size_t n = needle.size();
  while (static_cast<size_t>(end - p) >= n) {
    p = static_cast<const char*>(std::memchr(p, needle[0], static_cast<size_t>(end - p) - n + 1));
    if (p == nullptr) return nullptr;
    if (std::memcmp(p + 1, needle.data() + 1, n - 1) == 0) return p;
    p++;
  }
  return nullptr;
}

re2::RE2::Options optionsFor(int32_t flags) {
  re2::RE2::Options o;
  o.set_log_errors(false);
  o.set_case_sensitive((flags & 1) == 0);  // 1: i
  o.set_one_line((flags & 2) == 0);        // 2: m (as node-re2 sets it)
  o.set_dot_nl((flags & 4) != 0);          // 4: s
  return o;
}

/**
 * [[indexes...], [patterns...]] per group, indexes below `recognizers`; patterns in RE2 syntax, default options
 * (as node-re2's RE2.Set).
 */
bool buildGroups(napi_env env, napi_value v, size_t recognizers, std::vector<Group>* out, bool* failed) {
  std::vector<napi_value> groups;
  if (!getArray(env, v, &groups)) return false;
  for (napi_value g : groups) {
    std::vector<napi_value> pair, idx, pats;
    if (!getArray(env, g, &pair)) return false;
    if (pair.size() != 2) return fail(env, "compile: a set group is [indexes, patterns]");
    if (!getArray(env, pair[0], &idx) || !getArray(env, pair[1], &pats)) return false;
    if (idx.size() != pats.size()) return fail(env, "compile: a set group has as many indexes as patterns");
    Group group;
    re2::RE2::Options o;
    o.set_log_errors(false);
    group.set = std::make_unique<re2::RE2::Set>(o, re2::RE2::UNANCHORED);
    for (size_t k = 0; k < pats.size(); k++) {
      std::string p;
      int32_t i = 0;
      if (!getString(env, pats[k], &p) || !getInt(env, idx[k], &i)) return false;
      if (i < 0 || static_cast<size_t>(i) >= recognizers) return fail(env, "compile: a set names a recognizer that is not there");
      if (group.set->Add(p, nullptr) < 0) *failed = true;
      group.indexes.push_back(i);
    }
    if (!*failed && !group.set->Compile()) *failed = true;  // beyond re2's memory budget
    out->push_back(std::move(group));
  }
  return true;
}

/** The elements and data of `v`, a typed array of `expected` kind; a TypeError saying `what` otherwise. */
bool typedArray(napi_env env, napi_value v, napi_typedarray_type expected, size_t* length, void** data, const char* what) {
  bool is = false;
  if (!ok(env, napi_is_typedarray(env, v, &is), what) || !is) return fail(env, what);
  napi_typedarray_type type;
  if (!ok(env, napi_get_typedarray_info(env, v, &type, length, data, nullptr, nullptr), what)) return false;
  return type == expected || fail(env, what);
}

bool getStrings(napi_env env, napi_value v, std::vector<std::string>* out) {
  std::vector<napi_value> items;
  if (!getArray(env, v, &items)) return false;
  out->resize(items.size());
  for (size_t i = 0; i < items.size(); i++) if (!getString(env, items[i], &(*out)[i])) return false;
  return true;
}

/**
 * A regex the checks use, by name (RE2 syntax, translated by node-re2). Compiled once per process and pattern:
 * every policy load builds two detectors, and the IPv6 grammar alone took a third of a millisecond to compile.
 * Matching a compiled RE2 is safe from any thread; the cache is guarded for addons loaded in workers.
 */
bool getRegex(napi_env env, napi_value obj, const char* name, std::shared_ptr<const re2::RE2>* out) {
  static std::mutex guard;
  static std::map<std::string, std::shared_ptr<const re2::RE2>> compiled;
  napi_value v;
  std::string p;
  if (!getNamed(env, obj, name, &v) || !getString(env, v, &p)) return false;
  std::lock_guard<std::mutex> lock(guard);
  auto& re = compiled[p];
  if (re == nullptr) {
    auto fresh = std::make_shared<const re2::RE2>(p, optionsFor(0));
    if (!fresh->ok()) {
      compiled.erase(p);
      return fail(env, (std::string("compile: re2 rejected the evaluation's ") + name).c_str());
    }
    re = fresh;
  }
  *out = re;
  return true;
}

/** A Float64Array of exactly `n` numbers into `out`. */
bool getDoubles(napi_env env, napi_value obj, const char* name, double* out, size_t n) {
  napi_value v;
  size_t length = 0;
  void* data = nullptr;
  if (!getNamed(env, obj, name, &v) || !typedArray(env, v, napi_float64_array, &length, &data, "compile: expected a Float64Array")) return false;
  if (length != n) return fail(env, (std::string("compile: wrong length of ") + name).c_str());
  std::memcpy(out, data, n * sizeof(double));
  return true;
}

/**
 * What redact/native-collector.ts NativeEvaluation describes, for `recognizers` recognizers: per recognizer its
 * check, score and context words; the threshold, context boost and window; the allow-list; the regexes and tables
 * the checks share.
 */
bool buildEvaluation(napi_env env, napi_value v, size_t recognizers, std::unique_ptr<sluice::Evaluation>* out) {
  auto ev = std::make_unique<sluice::Evaluation>();
  napi_value checks, levels, scores, context, threshold, boost, window, allow, iban;
  std::vector<napi_value> checkList, levelList, scoreList, contextList, ibanList;
  if (!getNamed(env, v, "checks", &checks) || !getNamed(env, v, "levels", &levels) || !getNamed(env, v, "scores", &scores) ||
      !getNamed(env, v, "context", &context) ||
      !getNamed(env, v, "threshold", &threshold) || !getNamed(env, v, "boost", &boost) || !getNamed(env, v, "window", &window) ||
      !getNamed(env, v, "allow", &allow) || !getNamed(env, v, "ibanLengths", &iban)) {
    return false;
  }
  if (!getArray(env, checks, &checkList) || !getArray(env, levels, &levelList) || !getArray(env, scores, &scoreList) || !getArray(env, context, &contextList)) return false;
  if (checkList.size() != recognizers || levelList.size() != recognizers || scoreList.size() != recognizers || contextList.size() != recognizers) {
    return fail(env, "compile: the evaluation has one check, level, score and context per recognizer");
  }
  for (size_t i = 0; i < recognizers; i++) {
    int32_t k = 0, level = 0;
    double score = 0;
    std::vector<std::string> words;
    if (!getInt(env, checkList[i], &k) || !getInt(env, levelList[i], &level) || !getDouble(env, scoreList[i], &score) || !getStrings(env, contextList[i], &words)) return false;
    if (k < -1 || k >= sluice::CHECK_COUNT) return fail(env, "compile: no such check");
    if (level < 0 || static_cast<size_t>(level) >= recognizers) return fail(env, "compile: a level is a rank below the number of recognizers");
    ev->checks.push_back(static_cast<sluice::Check>(k));
    ev->levels.push_back(level);
    ev->levelCount = std::max(ev->levelCount, level + 1);
    ev->scores.push_back(score);
    ev->context.push_back(std::move(words));
  }
  int32_t w = 0;
  std::vector<std::string> allowed;
  if (!getDouble(env, threshold, &ev->threshold) || !getDouble(env, boost, &ev->boost) || !getInt(env, window, &w) || !getStrings(env, allow, &allowed)) return false;
  if (w < 0) return fail(env, "compile: a negative context window");
  ev->window = static_cast<size_t>(w);
  ev->allow.insert(allowed.begin(), allowed.end());
  if (!getArray(env, iban, &ibanList)) return false;
  for (napi_value entry : ibanList) {
    std::vector<napi_value> pair;
    std::string country;
    int32_t length = 0;
    if (!getArray(env, entry, &pair) || pair.size() != 2 || !getString(env, pair[0], &country) || !getInt(env, pair[1], &length)) {
      return fail(env, "compile: an IBAN length is [country, length]");
    }
    if (country.size() != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' || length < 1 || length > 255) {
      return fail(env, "compile: an IBAN country is two capital letters, its length 1 to 255");
    }
    ev->ibanLength[(country[0] - 'A') * 26 + (country[1] - 'A')] = static_cast<uint8_t>(length);
  }
  napi_value words;
  if (!getNamed(env, v, "versionWords", &words) || !getStrings(env, words, &ev->versionWords)) return false;
  if (!getRegex(env, v, "notSecret", &ev->notSecret) || !getRegex(env, v, "ipv6", &ev->ipv6)) {
    return false;
  }
  if (!getDoubles(env, v, "kLogK", ev->kLogK, 256) || !getDoubles(env, v, "log2", ev->log2, 257)) return false;
  *out = std::move(ev);
  return true;
}

void deleteEngine(napi_env, void* data, void*) { delete static_cast<Engine*>(data); }

// Marks engines made here, so that collect never takes another addon's external for one.
const napi_type_tag kEngineTag = {0x736c756963652d72ULL, 0x6564616374000001ULL};

// compile(patterns: string[], flags: number[], whole: number[], chunkSets | null, wholeSets | null, chunkSize,
// evaluation | null) -> engine
// whole: 0 per chunk, 1 over the whole text, 2 over the text from the first chunk where its prefilter fired
napi_value Compile(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!args(env, info, argv, 7, "compile takes 7 arguments")) return nullptr;
  auto e = std::make_unique<Engine>();
  std::vector<napi_value> pats, flags, whole;
  if (!getArray(env, argv[0], &pats) || !getArray(env, argv[1], &flags) || !getArray(env, argv[2], &whole)) return nullptr;
  if (flags.size() != pats.size() || whole.size() != pats.size()) {
    fail(env, "compile: arrays of different lengths");
    return nullptr;
  }
  for (size_t i = 0; i < pats.size(); i++) {
    std::string p;
    int32_t f = 0;
    int32_t w = 0;
    if (!getString(env, pats[i], &p) || !getInt(env, flags[i], &f) || !getInt(env, whole[i], &w)) return nullptr;
    auto re = std::make_unique<re2::RE2>(p, optionsFor(f));
    if (!re->ok()) {
      napi_throw_error(env, "ERR_SLUICE_NATIVE", ("re2 rejected a pattern node-re2 accepted: " + re->error()).c_str());
      return nullptr;
    }
    e->minLength.push_back(minBytes(re->Regexp()));
    e->lead.push_back(leadOf(re->Regexp()));
    e->needs.push_back(needsOf(re->Regexp()));
    e->res.push_back(std::move(re));
    e->whole.push_back(w != 0 ? 1 : 0);
    e->fromFirst.push_back(w == 2 ? 1 : 0);
  }
  napi_valuetype setsType;
  if (!ok(env, napi_typeof(env, argv[3], &setsType), "bad sets")) return nullptr;
  // null: the sets could not be built (re2's memory budget, see buildSets in detector.ts)
  bool failed = setsType == napi_null;
  const size_t R = e->res.size();
  if (!failed && (!buildGroups(env, argv[3], R, &e->chunkSets, &failed) || !buildGroups(env, argv[4], R, &e->wholeSets, &failed))) return nullptr;
  if (failed) {
    e->noSets = true;
    e->chunkSets.clear();
    e->wholeSets.clear();
  }
  int32_t chunk = 256;
  if (!getInt(env, argv[5], &chunk)) return nullptr;
  e->chunk = chunk < 1 ? 1 : static_cast<size_t>(chunk);
  napi_valuetype evalType;
  if (!ok(env, napi_typeof(env, argv[6], &evalType), "bad evaluation")) return nullptr;
  if (evalType != napi_null && !buildEvaluation(env, argv[6], R, &e->eval)) return nullptr;
  e->fired.resize(e->res.size());
  e->wholeFrom.resize(e->res.size());
  napi_value ext;
  if (!ok(env, napi_create_external(env, e.get(), deleteEngine, nullptr, &ext), "cannot wrap the engine")) return nullptr;
  e.release();
  if (!ok(env, napi_type_tag_object(env, ext, &kEngineTag), "cannot tag the engine")) return nullptr;
  return ext;
}

/** The byte after the UTF-8 character that starts at `at`. */
size_t nextChar(const char* data, size_t len, size_t at) {
  size_t next = at + 1;
  while (next < len && (static_cast<uint8_t>(data[next]) & 0xc0) == 0x80) next++;
  return next;
}

using sluice::FIELDS;  // recognizer, start, end, verdict (sluice::VERDICT_*; VERDICT_JS when not evaluated)

struct Out {
  std::vector<int32_t>* data;
  void push(size_t rec, size_t start, size_t end) {
    data->insert(data->end(), {static_cast<int32_t>(rec), static_cast<int32_t>(start), static_cast<int32_t>(end), sluice::VERDICT_JS});
  }
};

/**
 * Every leftmost-first match of recognizer `rec` in text[from, to), `text` being the context (whole texts:
 * assertions). With a lead, the matches are those of anchored searches where the lead stands (every match
 * starts with it, so the first place one succeeds is where the leftmost match starts).
 */
void runRange(const Engine& e, size_t rec, std::string_view text, size_t from, size_t to, Out* out) {
  const re2::RE2& re = *e.res[rec];
  const size_t least = e.minLength[rec];
  const std::string& lead = e.lead[rec];
  std::string_view m;
  for (size_t pos = from; pos < to && to - pos >= least;) {
    size_t start = 0;
    if (!lead.empty()) {
      const char* at = find(text, pos, to, lead);
      if (at == nullptr) return;
      start = static_cast<size_t>(at - text.data());
      if (!re.Match(text, start, to, re2::RE2::ANCHOR_START, &m, 1)) {
        pos = start + 1;
        continue;
      }
    } else {
      for (const auto& need : e.needs[rec]) {
        if (std::none_of(need.begin(), need.end(), [&](const std::string& literal) { return find(text, pos, to, literal) != nullptr; })) return;
      }
      if (!re.Match(text, pos, to, re2::RE2::UNANCHORED, &m, 1)) return;
      start = static_cast<size_t>(m.data() - text.data());
    }
    size_t end = start + m.size();
    if (end > start) {
      out->push(rec, start, end);
      pos = end;
    } else {
      pos = nextChar(text.data(), to, start);  // a pattern matched the empty string here
    }
  }
}

void fire(Engine* e, const std::vector<Group>& sets, std::string_view text, std::vector<int32_t>* firing) {
  for (const Group& g : sets) {
    re2::RE2::Set::ErrorInfo error;
    if (!g.set->Match(text, &e->matched, &error) && error.kind != re2::RE2::Set::kNoError) {
      firing->insert(firing->end(), g.indexes.begin(), g.indexes.end());
      continue;
    }
    for (int k : e->matched) firing->push_back(g.indexes[static_cast<size_t>(k)]);
  }
}

constexpr uint64_t HIGH_BITS = 0x8080808080808080ULL;

/** The 8 bytes at `at` as one word, zeros for those at or past `len`. */
uint64_t wordAt(const uint8_t* bytes, size_t len, size_t at) {
  uint64_t w = 0;
  if (at + 8 <= len) std::memcpy(&w, bytes + at, 8);  // one load
  else std::memcpy(&w, bytes + at, len - at);
  return w;
}

/** How many of bits 7, 15, ..., 63 (the only ones `x` may have) are set: a multiply, no popcount instruction assumed. */
uint32_t highBits(uint64_t x) {
  return static_cast<uint32_t>(((x >> 7) * 0x0101010101010101ULL) >> 56);
}

/**
 * UTF-16 units that the UTF-8 bytes in `w` stand for, counting only the bytes under `mask`: each byte that is not
 * a continuation byte (10xxxxxx) starts one unit, a 4-byte lead (11110xxx) two. Each byte's lower bits are
 * shifted onto its own bit 7, so the order of the bytes in the word does not matter.
 */
uint32_t unitsIn(uint64_t w, uint64_t mask) {
  uint64_t continuation = w & ~(w << 1) & HIGH_BITS & mask;
  uint64_t lead4 = w & (w << 1) & (w << 2) & (w << 3) & HIGH_BITS & mask;
  return highBits(mask & HIGH_BITS) - highBits(continuation) + highBits(lead4);
}

/**
 * Turns the byte offsets of `count` matches (FIELDS each) into UTF-16 offsets of the string `bytes` (`len` bytes) was encoded
 * from (a lone surrogate was written as U+FFFD, three bytes for one unit): the units before each 8-byte word go
 * in `table`, and an offset is its word's count plus the units of the bytes before it in its word. Nothing more to
 * do when the bytes up to the last end are ASCII.
 */
void toUtf16(const uint8_t* bytes, size_t len, int32_t* matches, size_t count, std::vector<uint32_t>* table) {
  size_t last = 0;
  for (size_t k = 0; k < count; k++) last = std::max(last, static_cast<size_t>(matches[FIELDS * k + 2]));
  const size_t words = last / 8;  // whole words before the one `last` falls in
  table->resize(words + 1);
  uint32_t* units = table->data();
  uint32_t unit = 0;
  uint64_t seen = wordAt(bytes, len, 8 * words) & ((1ULL << (8 * (last % 8))) - 1);  // the bytes before `last`
  for (size_t j = 0; j < words; j++) {
    uint64_t w = wordAt(bytes, len, 8 * j);
    seen |= w;
    units[j] = unit;
    unit += unitsIn(w, ~0ULL);
  }
  units[words] = unit;
  if ((seen & HIGH_BITS) == 0) return;  // ASCII up to the last end: byte offsets are UTF-16 offsets
  for (size_t k = 0; k < count; k++) {
    for (size_t f = 1; f <= 2; f++) {
      size_t at = static_cast<size_t>(matches[FIELDS * k + f]);
      size_t in = at % 8;
      uint32_t before = in == 0 ? 0 : unitsIn(wordAt(bytes, len, at - in), (1ULL << (8 * in)) - 1);
      matches[FIELDS * k + f] = static_cast<int32_t>(units[at / 8] + before);
    }
  }
}

// collect(engine, bytes: Uint8Array, out: Int32Array, utf16: boolean) -> number of matches (FIELDS each:
// recognizer, start, end, verdict; UTF-16 offsets with `utf16`, else byte offsets). With an evaluation, matches it
// rejects are left out and those it keeps are narrowed to their values. When there are more than `out` holds,
// nothing is written and the caller calls again with more room.
napi_value Collect(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!args(env, info, argv, 4, "collect takes 4 arguments")) return nullptr;
  bool utf16 = false;
  if (!ok(env, napi_get_value_bool(env, argv[3], &utf16), "expected a boolean")) return nullptr;
  Engine* e = nullptr;
  bool tagged = false;
  napi_valuetype kind;
  if (!ok(env, napi_typeof(env, argv[0], &kind), "expected an engine")) return nullptr;
  if (kind == napi_external && !ok(env, napi_check_object_type_tag(env, argv[0], &kEngineTag, &tagged), "expected an engine")) return nullptr;
  if (!tagged) {
    fail(env, "expected an engine made by compile");
    return nullptr;
  }
  if (!ok(env, napi_get_value_external(env, argv[0], reinterpret_cast<void**>(&e)), "expected an engine")) return nullptr;
  size_t len = 0, outLen = 0;
  void* bytes = nullptr;
  void* outData = nullptr;
  if (!typedArray(env, argv[1], napi_uint8_array, &len, &bytes, "expected a Uint8Array")) return nullptr;
  if (!typedArray(env, argv[2], napi_int32_array, &outLen, &outData, "expected an Int32Array")) return nullptr;
  const char* data = static_cast<const char*>(bytes);
  std::string_view text(data, len);
  e->found.clear();
  Out out{&e->found};
  const size_t R = e->res.size();
  for (auto& f : e->fired) f.clear();
  std::fill(e->wholeFrom.begin(), e->wholeFrom.end(), NOT_FIRED);
  std::vector<int32_t>& firing = e->firing;

  if (len > 0 && R > 0) {
    for (size_t start = 0; start < len;) {
      size_t end = len;
      if (len - start > e->chunk * 2) {
        const void* nl = memchr(data + start + e->chunk, '\n', len - start - e->chunk);
        if (nl != nullptr) end = static_cast<size_t>(static_cast<const char*>(nl) - data) + 1;
      }
      firing.clear();
      if (e->noSets) for (size_t i = 0; i < R; i++) firing.push_back(static_cast<int32_t>(i));
      else fire(e, e->chunkSets, text.substr(start, end - start), &firing);
      for (int32_t i : firing) {
        if (e->whole[i]) {
          // Every match starts with a prefilter match, which lies in a chunk where it fired: none before the first.
          if (e->wholeFrom[i] == NOT_FIRED) e->wholeFrom[i] = e->fromFirst[i] ? start : 0;
          continue;
        }
        auto& f = e->fired[i];
        if (!f.empty() && f.back().second == start) f.back().second = end;
        else f.emplace_back(start, end);
      }
      start = end;
    }
    for (size_t i = 0; i < R; i++) {
      // A slice is the whole text for a pattern without assertions: same matches as searching the slice alone.
      for (auto [a, b] : e->fired[i]) runRange(*e, i, text, a, b, &out);
    }
    firing.clear();
    fire(e, e->wholeSets, text, &firing);
    for (int32_t i : firing) e->wholeFrom[i] = 0;
    for (size_t i = 0; i < R; i++) if (e->wholeFrom[i] != NOT_FIRED) runRange(*e, i, text, e->wholeFrom[i], len, &out);
  }
  std::vector<int32_t>& found = e->found;
  size_t count = found.size() / FIELDS;
  if (e->eval != nullptr) {
    e->eval->settle(&found, static_cast<const uint8_t*>(bytes), len);
    count = found.size() / FIELDS;
  }
  if (FIELDS * count <= outLen) {
    if (utf16) toUtf16(static_cast<const uint8_t*>(bytes), len, found.data(), count, &e->units);
    std::memcpy(outData, found.data(), FIELDS * count * sizeof(int32_t));
  }
  napi_value result;
  if (!ok(env, napi_create_double(env, static_cast<double>(count), &result), "cannot return")) return nullptr;
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value f;
  if (napi_create_function(env, "compile", NAPI_AUTO_LENGTH, Compile, nullptr, &f) != napi_ok) return nullptr;
  if (napi_set_named_property(env, exports, "compile", f) != napi_ok) return nullptr;
  if (napi_create_function(env, "collect", NAPI_AUTO_LENGTH, Collect, nullptr, &f) != napi_ok) return nullptr;
  if (napi_set_named_property(env, exports, "collect", f) != napi_ok) return nullptr;
  return exports;
}

napi_module sluiceModule = {1, 0, __FILE__, Init, "sluice_redact", nullptr, {nullptr, nullptr, nullptr, nullptr}};

__attribute__((constructor)) void registerModule() { napi_module_register(&sluiceModule); }

}  // namespace
