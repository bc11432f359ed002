// See checks.h. Each check below is the JavaScript one of the same name in redact/builtin-recognizers.ts, read
// over bytes: a neighbour that JavaScript sees as a non-ASCII code unit is a byte >= 0x80 here, which no ASCII
// class accepts either, and the value itself is ASCII (or the match goes back to JavaScript).
#include "checks.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace sluice {
namespace {

/** The byte at `i`, -1 past either end (as JavaScript's NaN: no comparison accepts it). */
struct Text {
  const uint8_t* b;
  ptrdiff_t len;
  int at(ptrdiff_t i) const { return i < 0 || i >= len ? -1 : b[i]; }
};

bool isDigit(int x) { return x >= '0' && x <= '9'; }
bool isLetter(int x) { return (x >= 'A' && x <= 'Z') || (x >= 'a' && x <= 'z'); }
bool isWord(int x) { return isDigit(x) || isLetter(x) || x == '_'; }
bool standsAlone(const Text& t, ptrdiff_t s, ptrdiff_t e) { return !isWord(t.at(s - 1)) && !isWord(t.at(e)); }
bool tokenChar(int x) { return isWord(x) || x == '-' || x == '+' || x == '/'; }
bool tokenAlone(const Text& t, ptrdiff_t s, ptrdiff_t e) {
  int a = t.at(e);
  return !tokenChar(t.at(s - 1)) && !tokenChar(a) && a != '=';
}
bool joiner(int x) { return x == '.' || x == '-' || x == '/'; }
bool numberAlone(const Text& t, ptrdiff_t s, ptrdiff_t e) {
  return standsAlone(t, s, e) && !(joiner(t.at(s - 1)) && isDigit(t.at(s - 2))) && !(joiner(t.at(e)) && isDigit(t.at(e + 1)));
}
/** JavaScript's \s over ASCII (re2's lacks \v). */
bool isSpace(int x) { return x == ' ' || (x >= '\t' && x <= '\r'); }
bool ascii(const uint8_t* b, size_t n) {
  uint64_t high = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {  // a word at a time: private keys are kilobytes
    uint64_t w;
    std::memcpy(&w, b + i, 8);
    high |= w;
  }
  for (; i < n; i++) high |= b[i];
  return (high & 0x8080808080808080ULL) == 0;
}
int lower(int x) { return x >= 'A' && x <= 'Z' ? x + 32 : x; }
std::string lowered(const uint8_t* b, size_t n) {
  std::string out(reinterpret_cast<const char*>(b), n);
  for (char& c : out) c = static_cast<char>(lower(static_cast<uint8_t>(c)));
  return out;
}
std::string_view view(const uint8_t* b, size_t n) { return std::string_view(reinterpret_cast<const char*>(b), n); }

bool separatorsConsistent(const uint8_t* v, size_t n) {
  int sep = -1;
  for (size_t i = 0; i < n; i++) {
    if (isDigit(v[i])) continue;
    if (sep >= 0 && v[i] != sep) return false;
    sep = v[i];
  }
  return true;
}

/** cardBrandValidPrefix (redact/validators.ts). */
bool cardBrandValidPrefix(int32_t p6, int32_t n) {
  int32_t p2 = p6 / 10000, p3 = p6 / 1000, p4 = p6 / 100;
  if (p6 >= 400000 && p6 < 500000) return n == 13 || n == 16 || n == 19;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;
  if (p2 == 34 || p2 == 37) return n == 15;
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) return n >= 16 && n <= 19;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;
  if (p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305) || p2 == 30) return n >= 14 && n <= 19;
  if (p2 == 62) return n >= 16 && n <= 19;
  if (p2 == 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19;
  return false;
}

/** cardCheck after numberAlone: Luhn, brand and separators in one pass. */
bool cardValid(const uint8_t* v, size_t n) {
  int sep = -1;
  int32_t digits = 0, prefix = 0, evenDoubled = 0, oddDoubled = 0;
  for (size_t i = 0; i < n; i++) {
    int x = v[i];
    if (!isDigit(x)) {
      if (sep >= 0 && x != sep) return false;
      sep = x;
      continue;
    }
    int d = x - '0';
    int twice = d * 2 > 9 ? d * 2 - 9 : d * 2;
    if (digits % 2 == 0) {
      evenDoubled += twice;
      oddDoubled += d;
    } else {
      evenDoubled += d;
      oddDoubled += twice;
    }
    if (digits < 6) prefix = prefix * 10 + d;
    digits++;
  }
  int32_t luhn = digits % 2 == 0 ? evenDoubled : oddDoubled;
  return digits >= 6 && luhn % 10 == 0 && cardBrandValidPrefix(prefix, digits);
}

/** ssnValid(digitsOf(v)) (redact/validators.ts). */
bool ssnValid(const uint8_t* v, size_t n) {
  char d[10];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isDigit(v[i])) continue;
    if (k == 9) return false;
    d[k++] = static_cast<char>(v[i]);
  }
  if (k != 9) return false;
  d[9] = '\0';
  int area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
  int group = (d[3] - '0') * 10 + (d[4] - '0');
  int serial = (d[5] - '0') * 1000 + (d[6] - '0') * 100 + (d[7] - '0') * 10 + (d[8] - '0');
  if (area == 0 || area == 666 || area >= 900) return false;
  if (group == 0 || serial == 0) return false;
  return std::strcmp(d, "078051120") != 0 && std::strcmp(d, "219099999") != 0;
}

/** ibanMod97 (redact/validators.ts) over v[0, n): upper-case letters, digits and spaces. */
int ibanMod97(const uint8_t* v, size_t n) {
  int rem = 0;
  auto step = [&rem](int c) {
    int x = c >= 65 ? c - 55 : c - 48;
    rem = x >= 10 ? (rem * 100 + x) % 97 : (rem * 10 + x) % 97;
  };
  size_t i = 0;
  for (int head = 0; i < n && head < 4; i++) if (v[i] != ' ') head++;
  for (size_t k = i; k < n; k++) if (v[k] != ' ') step(v[k]);
  for (size_t k = 0; k < i; k++) if (v[k] != ' ') step(v[k]);
  return rem;
}

/** ipv4Valid: four octets 0-255, no leading zeros. */
bool ipv4Valid(const uint8_t* v, size_t n) {
  int parts = 0, value = 0, digits = 0;
  for (size_t i = 0; i <= n; i++) {
    int c = i < n ? v[i] : '.';
    if (c == '.') {
      if (digits == 0 || value > 255) return false;
      parts++;
      value = 0;
      digits = 0;
    } else if (isDigit(c)) {
      if (digits == 1 && value == 0) return false;
      if (++digits > 3) return false;
      value = value * 10 + (c - '0');
    } else {
      return false;
    }
  }
  return parts == 4;
}

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

/** phoneCheck after numberAlone: 7 to 15 digits not all the same, an extension (`x12`, `ext. 12`) not counted. */
bool phoneValid(const uint8_t* v, size_t n) {
  // PHONE_EXTENSION, /\s*(?:x|ext\.?)\s*\d+$/i: the trailing digits go when a marker stands before them.
  size_t end = n;
  size_t i = n;
  while (i > 0 && isDigit(v[i - 1])) i--;
  if (i < n) {
    size_t m = i;
    while (m > 0 && isSpace(v[m - 1])) m--;
    size_t dot = m > 0 && v[m - 1] == '.' ? 1 : 0;
    if (dot == 0 && m > 0 && lower(v[m - 1]) == 'x') end = m - 1;
    else if (m >= 3 + dot && lower(v[m - 1 - dot]) == 't' && lower(v[m - 2 - dot]) == 'x' && lower(v[m - 3 - dot]) == 'e') end = m - 3 - dot;
  }
  int digits = 0, first = -1;
  bool same = true;
  for (size_t k = 0; k < end; k++) {
    if (!isDigit(v[k])) continue;
    digits++;
    if (first < 0) first = v[k];
    else if (v[k] != first) same = false;
  }
  return !(digits < 7 || digits > 15 || same);
}

/**
 * Whether the base64url text b64[0, n) decodes (as Node's Buffer.from(…, 'base64url'): a last lone character
 * is dropped) to JSON that JSON.parse turns into an object with an `alg` key. Bytes >= 0x80 are characters of
 * strings (Node's UTF-8 decoding replaces invalid ones and never swallows an ASCII byte) and errors elsewhere.
 */
bool jwtHeaderNamesAlg(const uint8_t* b64, size_t n) {
  std::string json;
  json.reserve(n * 3 / 4 + 3);
  uint32_t bits = 0;
  int have = 0;
  for (size_t i = 0; i < n; i++) {
    int c = b64[i];
    int x = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : isDigit(c) ? c - '0' + 52 : c == '-' ? 62 : c == '_' ? 63 : -1;
    if (x < 0) return false;  // the pattern lets none through
    bits = (bits << 6) | static_cast<uint32_t>(x);
    have += 6;
    if (have >= 8) {
      have -= 8;
      json.push_back(static_cast<char>((bits >> have) & 0xff));
    }
  }
  const auto* p = reinterpret_cast<const uint8_t*>(json.data());
  const size_t len = json.size();
  size_t i = 0;
  auto blanks = [&] {
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
  };
  auto hex = [](int c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  // A string at p[i] == '"'; with `key`, whether it is exactly "alg" (escapes decoded).
  auto string = [&](bool* isAlg) -> bool {
    char units[3];
    size_t count = 0;
    bool plain = true;  // every unit so far ASCII and fits `units`
    for (i++; i < len; i++) {
      int c = p[i];
      int unit = c;
      if (c == '"') {
        i++;
        if (isAlg != nullptr) *isAlg = plain && count == 3 && std::memcmp(units, "alg", 3) == 0;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i >= len) return false;
        switch (p[i]) {
          case '"': case '\\': case '/': unit = p[i]; break;
          case 'b': unit = '\b'; break;
          case 'f': unit = '\f'; break;
          case 'n': unit = '\n'; break;
          case 'r': unit = '\r'; break;
          case 't': unit = '\t'; break;
          case 'u':
            if (i + 4 >= len || !hex(p[i + 1]) || !hex(p[i + 2]) || !hex(p[i + 3]) || !hex(p[i + 4])) return false;
            unit = static_cast<int>(std::strtol(std::string(reinterpret_cast<const char*>(p + i + 1), 4).c_str(), nullptr, 16));
            i += 4;
            break;
          default:
            return false;
        }
      }
      if (unit >= 0x80 || count == 3) plain = false;
      else units[count++] = static_cast<char>(unit);
    }
    return false;
  };
  auto number = [&]() -> bool {
    if (i < len && p[i] == '-') i++;
    if (i < len && p[i] == '0') i++;
    else if (i < len && p[i] >= '1' && p[i] <= '9') while (i < len && isDigit(p[i])) i++;
    else return false;
    if (i < len && p[i] == '.') {
      if (++i >= len || !isDigit(p[i])) return false;
      while (i < len && isDigit(p[i])) i++;
    }
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
      if (++i < len && (p[i] == '+' || p[i] == '-')) i++;
      if (i >= len || !isDigit(p[i])) return false;
      while (i < len && isDigit(p[i])) i++;
    }
    return true;
  };
  auto literal = [&](std::string_view word) {
    if (view(p + i, std::min(len - i, word.size())) != word) return false;
    i += word.size();
    return true;
  };
  blanks();
  if (i >= len || p[i] != '{') return false;  // not an object: `'alg' in` it is false or it does not parse
  std::vector<char> open;  // '{' and '[' not yet closed
  bool alg = false;
  enum { VALUE, VALUE_OR_CLOSE, KEY, KEY_OR_CLOSE, AFTER } state = VALUE;
  auto enter = [&](char bracket) {
    open.push_back(bracket);
    i++;
    state = bracket == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
  };
  auto leave = [&] {
    open.pop_back();
    i++;
    state = AFTER;
  };
  for (;;) {
    blanks();
    if (state == AFTER && open.empty()) return i == len && alg;
    if (i >= len) return false;
    int c = p[i];
    switch (state) {
      case VALUE_OR_CLOSE:
        if (c == ']') {
          leave();
          continue;
        }
        [[fallthrough]];
      case VALUE:
        if (c == '{' || c == '[') {
          enter(static_cast<char>(c));
        } else {
          bool ok = c == '"' ? string(nullptr) : c == 't' ? literal("true") : c == 'f' ? literal("false") : c == 'n' ? literal("null") : number();
          if (!ok) return false;
          state = AFTER;
        }
        continue;
      case KEY_OR_CLOSE:
        if (c == '}') {
          leave();
          continue;
        }
        [[fallthrough]];
      case KEY: {
        bool isAlg = false;
        if (c != '"' || !string(&isAlg)) return false;
        alg = alg || (isAlg && open.size() == 1);
        blanks();
        if (i >= len || p[i] != ':') return false;
        i++;
        state = VALUE;
        continue;
      }
      case AFTER:
        if (c == ',') {
          i++;
          state = open.back() == '{' ? KEY : VALUE;
        } else if (c == (open.back() == '{' ? '}' : ']')) {
          leave();
        } else {
          return false;
        }
        continue;
    }
  }
}

}  // namespace

/** looksRandom (redact/validators.ts) for an ASCII value: the same sums in the same order, so the same doubles. */
bool Evaluation::looksRandom(const uint8_t* v, size_t n, double ratio) const {
  if (n > 255) return false;  // never asked: values are at most 200 characters (the caller rejects longer ones)
  constexpr int DIGIT = 1, LOWER = 2, UPPER = 4, SYMBOL = 8, NOT_HEX = 16;
  uint8_t counts[128] = {};
  uint8_t seen[129];  // one past the 128 distinct characters there can be: written before it is counted
  int distinct = 0;
  for (size_t i = 0; i < n; i++) {  // without a branch: whether a character is new is a coin toss
    seen[distinct] = v[i];
    distinct += counts[v[i]]++ == 0;
  }
  // The alphabets and the sum over the distinct characters, in the order first seen (JavaScript's order).
  int classes = 0;
  double sum = 0;
  for (int i = 0; i < distinct; i++) {
    int c = seen[i];
    if (isDigit(c)) classes |= DIGIT;
    else if (c >= 'a' && c <= 'z') classes |= LOWER | (c > 'f' ? NOT_HEX : 0);
    else if (c >= 'A' && c <= 'Z') classes |= UPPER | (c > 'F' ? NOT_HEX : 0);
    else classes |= SYMBOL | NOT_HEX;
    sum += kLogK[counts[c]];
  }
  double entropy = n == 0 ? 0 : log2[n] - sum / static_cast<double>(n);
  int alphabet = n == 0 ? 0
                 : (classes & NOT_HEX) == 0
                     ? 16
                     : ((classes & LOWER) ? 26 : 0) + ((classes & UPPER) ? 26 : 0) + ((classes & DIGIT) ? 10 : 0) + ((classes & SYMBOL) ? 32 : 0);
  return entropy >= ratio * log2[std::max<size_t>(2, std::min<size_t>(n, static_cast<size_t>(alphabet)))];
}

/**
 * secretValueLooksReal (redact/builtin-recognizers.ts) for an ASCII value: every test rejects, so the cheap ones
 * go first and the regex (a call into re2 costs more than the rest) only sees what passed them.
 */
Evaluation::Outcome Evaluation::secretValueLooksReal(const uint8_t* v, size_t n) const {
  if (n < 8 || n > 200) return REJECT;
  bool digit = false, notLetter = false;
  for (size_t i = 0; i < n; i++) {
    if (isSpace(v[i])) return REJECT;
    digit = digit || isDigit(v[i]);
    notLetter = notLetter || !isLetter(v[i]);
  }
  if (!digit && !notLetter && n < 20) return REJECT;
  if (!looksRandom(v, n, 0.7)) return REJECT;
  return re2::RE2::PartialMatch(view(v, n), *notSecret) ? REJECT : PASS;
}

/**
 * VERSION_BEFORE over the window before an IPv4-shaped value, lower-cased: it ends with a version word, a `v` at
 * the window's start or after a character that is not a letter, or an operator (`>=`, `==`), then any run of
 * blanks, `:`, `=` and `/`. Only the operator ends with a character of that run, so the rest is read before it.
 * `w` is the window's ASCII tail, the whole window when `whole`; else a character that is not ASCII stands
 * before it (lower-cased, still not ASCII, or a `k` or an `i` and a combining dot: never part of a version word),
 * and the few cases it decides are UNSURE (the match goes back to JavaScript).
 */
Evaluation::Answer Evaluation::versionBefore(std::string_view w, bool whole) const {
  size_t m = w.size();
  while (m > 0 && (isSpace(static_cast<uint8_t>(w[m - 1])) || w[m - 1] == ':' || w[m - 1] == '=' || w[m - 1] == '/')) m--;
  for (size_t j = std::max<size_t>(m, 1); j < w.size(); j++) {
    if (w[j] == '=' && std::string_view("=~<>!").find(w[j - 1]) != std::string_view::npos) return YES;
  }
  if (m == 0 && !whole) return UNSURE;  // the run may go on (JavaScript's \s has non-ASCII blanks), or a `§` ends it
  std::string_view head = w.substr(0, m);
  for (const std::string& word : versionWords) {
    if (head.size() >= word.size() && head.substr(head.size() - word.size()) == word) return YES;
  }
  if (m == 0 || head[m - 1] != 'v') return NO;
  if (m >= 2) return head[m - 2] < 'a' || head[m - 2] > 'z' ? YES : NO;
  return whole ? YES : UNSURE;  // a lone `v` after a character that is not ASCII (a Kelvin sign lower-cases to `k`)
}

Evaluation::Outcome Evaluation::check(Check k, const uint8_t* bytes, size_t len, ptrdiff_t* sp, ptrdiff_t* ep) const {
  const Text t{bytes, static_cast<ptrdiff_t>(len)};
  ptrdiff_t& s = *sp;
  ptrdiff_t& e = *ep;
  const uint8_t* v = bytes + s;
  const size_t n = static_cast<size_t>(e - s);
  switch (k) {
    case Check::Js:
      return DEFER;
    case Check::None:
      return PASS;
    case Check::Token:
      return tokenAlone(t, s, e) ? PASS : REJECT;
    case Check::Slack:
      return tokenAlone(t, s, e) && std::any_of(v, v + n, [](uint8_t x) { return isDigit(x); }) ? PASS : REJECT;
    case Check::Jwt: {
      if (!tokenAlone(t, s, e)) return REJECT;
      const uint8_t* dot = static_cast<const uint8_t*>(std::memchr(v, '.', n));
      return jwtHeaderNamesAlg(v, dot == nullptr ? n : static_cast<size_t>(dot - v)) ? PASS : REJECT;
    }
    case Check::UrlCredentials: {
      // /^\$\{|^<|:(?:\*+|x+|<[^>]*>|\$\{[^}]*\})$/i
      if (startsWith(view(v, n), "${") || startsWith(view(v, n), "<")) return REJECT;
      for (size_t p = 0; p < n; p++) {
        if (v[p] != ':') continue;
        std::string_view rest = view(v + p + 1, n - p - 1);
        if (rest.empty()) continue;
        if (rest.find_first_not_of('*') == std::string_view::npos || rest.find_first_not_of("xX") == std::string_view::npos) return REJECT;
        if (rest.size() >= 2 && rest.front() == '<' && rest.back() == '>' && rest.substr(1, rest.size() - 2).find('>') == std::string_view::npos) return REJECT;
        if (rest.size() >= 3 && startsWith(rest, "${") && rest.back() == '}' && rest.substr(2, rest.size() - 3).find('}') == std::string_view::npos) return REJECT;
      }
      return PASS;
    }
    case Check::AwsSecret:
      return tokenAlone(t, s, e) && looksRandom(v, n, 0.8) ? PASS : REJECT;
    case Check::GenericSecret:
      return secretValueLooksReal(v, n);
    case Check::Card:
      return numberAlone(t, s, e) && cardValid(v, n) ? PASS : REJECT;
    case Check::Iban: {
      if (isWord(t.at(s - 1))) return REJECT;
      int c0 = t.at(s), c1 = t.at(s + 1);
      if (c0 < 'A' || c0 > 'Z' || c1 < 'A' || c1 > 'Z') return DEFER;
      int expected = ibanLength[(c0 - 'A') * 26 + (c1 - 'A')];
      if (expected == 0) return REJECT;
      int count = 0;
      ptrdiff_t end = s;
      for (; end < e && count < expected; end++) if (bytes[end] != ' ') count++;
      if (count != expected) return REJECT;
      e = end;
      if (isWord(t.at(e))) return REJECT;
      return ibanMod97(v, static_cast<size_t>(e - s)) == 1 ? PASS : REJECT;
    }
    case Check::Ssn:
    case Check::SsnBare:
      return numberAlone(t, s, e) && separatorsConsistent(v, n) && ssnValid(v, n) ? PASS : REJECT;
    case Check::Email:
      if (isWord(t.at(e))) return REJECT;
      while (t.at(s) == '.') s++;
      return PASS;
    case Check::Ipv4: {
      int b = t.at(s - 1), a = t.at(e);
      if (isWord(b) || b == '.' || isWord(a)) return REJECT;
      if (a == '.' && isDigit(t.at(e + 1))) return REJECT;
      if (b == '/' && isLetter(t.at(s - 2))) return REJECT;
      if (!ipv4Valid(v, n)) return REJECT;
      std::string_view ip = view(v, n);
      if (startsWith(ip, "127.") || ip == "0.0.0.0" || startsWith(ip, "255.")) return REJECT;
      // VERSION_BEFORE over the 12 characters before: its ASCII tail, as bytes.
      ptrdiff_t from = std::max<ptrdiff_t>(0, s - 12), tail = s;
      while (tail > from && bytes[tail - 1] < 0x80) tail--;
      switch (versionBefore(lowered(bytes + tail, static_cast<size_t>(s - tail)), tail == from)) {
        case YES:
          return REJECT;  // a version
        case NO:
          return PASS;
        case UNSURE:
          break;
      }
      return DEFER;
    }
    case Check::Ipv6: {
      int b = t.at(s - 1), a = t.at(e);
      if (isWord(b) || b == ':' || b == '.' || isWord(a) || a == ':') return REJECT;
      std::string_view ip = view(v, n);
      // v.split(':').filter(nonempty): at least 2 groups of at least 5 characters in all
      size_t groups = 0, colons = 0;
      for (size_t i = 0; i < n; i++) {
        if (v[i] == ':') colons++;
        else if (i == 0 || v[i - 1] == ':') groups++;
      }
      if (groups < 2 || n - colons < 5) return REJECT;
      // v === '::1' || /^::(?:ffff:)?(?:0\.0\.0\.0|127\.)/
      if (ip == "::1") return REJECT;
      if (startsWith(ip, "::")) {
        std::string_view rest = ip.substr(2);
        if (startsWith(rest, "ffff:") && (startsWith(rest.substr(5), "0.0.0.0") || startsWith(rest.substr(5), "127."))) return REJECT;
        if (startsWith(rest, "0.0.0.0") || startsWith(rest, "127.")) return REJECT;
      }
      return re2::RE2::PartialMatch(ip, *ipv6) ? PASS : REJECT;  // the costly test last
    }
    case Check::Phone:
    case Check::PhoneNational:
      return numberAlone(t, s, e) && phoneValid(v, n) ? PASS : REJECT;
  }
  return DEFER;
}

void Taken::reset(size_t len) {
  bits_.assign((len + 63) / 64, 0);
}

template <typename F>
bool Taken::eachWord(size_t s, size_t e, F f) const {
  for (size_t w = s / 64; w * 64 < e; w++) {
    uint64_t mask = ~0ULL;
    if (w == s / 64) mask &= ~0ULL << (s % 64);
    if (w == (e - 1) / 64 && e % 64 != 0) mask &= ~0ULL >> (64 - e % 64);
    if (!f(w, mask)) return false;
  }
  return true;
}

bool Taken::overlaps(size_t s, size_t e) const {
  return s < e && !eachWord(s, e, [this](size_t w, uint64_t mask) { return (bits_[w] & mask) == 0; });
}

bool Taken::covers(size_t s, size_t e) const {
  return eachWord(s, e, [this](size_t w, uint64_t mask) { return (bits_[w] & mask) == mask; });
}

void Taken::take(size_t s, size_t e) {
  if (s >= e) return;
  std::vector<uint64_t>& bits = bits_;
  eachWord(s, e, [&bits](size_t w, uint64_t mask) {
    bits[w] |= mask;
    return true;
  });
}

int32_t Evaluation::evaluate(size_t rec, const uint8_t* bytes, size_t len, size_t* startOut, size_t* endOut, const Taken* taken) const {
  const Check k = checks[rec];
  if (k == Check::Js) return VERDICT_JS;
  const Text t{bytes, static_cast<ptrdiff_t>(len)};
  ptrdiff_t s = static_cast<ptrdiff_t>(*startOut);
  ptrdiff_t e = static_cast<ptrdiff_t>(*endOut);
  // `locate`: from the whole match to its value.
  switch (k) {
    case Check::UrlCredentials: {
      // from after the first `://` to the last `@`
      auto from = view(bytes, len).find("://", static_cast<size_t>(s));
      auto to = e > 0 ? view(bytes, len).rfind('@', static_cast<size_t>(e - 1)) : std::string_view::npos;
      if (from == std::string_view::npos || to == std::string_view::npos) return VERDICT_JS;
      s = static_cast<ptrdiff_t>(from) + 3;
      e = static_cast<ptrdiff_t>(to);
      break;
    }
    case Check::AwsSecret:
      s = e - 40;
      break;
    case Check::SsnBare:
      s = e - 9;
      break;
    case Check::GenericSecret: {
      // genericSecretValue: past the operator (`=`, `:=`, `=>`, `:`), then blanks and quotes
      ptrdiff_t i = s;
      while (i < e && t.at(i) != '=' && t.at(i) != ':') i++;
      if (i == e) return VERDICT_JS;
      int op = t.at(i), next = t.at(i + 1);
      i += (op == '=' && next == '>') || (op == ':' && next == '=') ? 2 : 1;
      for (int x = t.at(i); i < e && (x == ' ' || x == '\t' || x == '\'' || x == '"' || x == '`'); x = t.at(++i)) {}
      s = i;
      break;
    }
    case Check::PhoneNational:
      while (s < e && !isDigit(t.at(s))) s++;
      break;
    default:
      break;
  }
  if (e <= s) return VERDICT_REJECT;
  if (s < 0) return VERDICT_JS;
  if (taken != nullptr) {
    // Under spans kept at a higher priority: wholly, it could never be kept; partly, the settling drops it unless a
    // check narrows it first (e-mail, IBAN).
    const bool narrows = k == Check::Email || k == Check::Iban;
    if (narrows ? taken->covers(static_cast<size_t>(s), static_cast<size_t>(e)) : taken->overlaps(static_cast<size_t>(s), static_cast<size_t>(e))) return VERDICT_REJECT;
  }
  if (!ascii(bytes + s, static_cast<size_t>(e - s))) return VERDICT_JS;
  switch (check(k, bytes, len, &s, &e)) {
    case REJECT:
      return VERDICT_REJECT;
    case DEFER:
      return VERDICT_JS;  // with the whole match: JavaScript locates the value again
    case PASS:
      break;
  }
  double score = scores[rec];
  bool boosted = false;
  if (score < threshold && !context[rec].empty()) {
    // The `window` characters before the value, lower-cased: as bytes when those are ASCII.
    ptrdiff_t from = std::max<ptrdiff_t>(0, s - static_cast<ptrdiff_t>(window));
    if (!ascii(bytes + from, static_cast<size_t>(s - from))) return VERDICT_JS;
    std::string w = lowered(bytes + from, static_cast<size_t>(s - from));
    for (const std::string& word : context[rec]) {
      if (w.find(word) == std::string::npos) continue;
      score += boost;
      boosted = true;
      break;
    }
  }
  if (score < threshold || e <= s) return VERDICT_REJECT;
  if (!allow.empty() && allow.count(lowered(bytes + s, static_cast<size_t>(e - s))) > 0) return VERDICT_REJECT;
  *startOut = static_cast<size_t>(s);
  *endOut = static_cast<size_t>(e);
  return boosted ? VERDICT_BOOSTED : VERDICT_KEEP;
}

}  // namespace sluice

namespace sluice {

void Evaluation::evaluateEach(std::vector<int32_t>* found, const uint8_t* bytes, size_t len) const {
  const size_t count = found->size() / FIELDS;
  size_t kept = 0;
  for (size_t k = 0; k < count; k++) {
    const int32_t* m = &(*found)[FIELDS * k];
    size_t start = static_cast<size_t>(m[1]), end = static_cast<size_t>(m[2]);
    int32_t rec = m[0];
    int32_t verdict = evaluate(static_cast<size_t>(rec), bytes, len, &start, &end, nullptr);
    if (verdict == VERDICT_REJECT) continue;
    int32_t* to = &(*found)[FIELDS * kept++];
    to[0] = rec;
    to[1] = static_cast<int32_t>(start);
    to[2] = static_cast<int32_t>(end);
    to[3] = verdict;
  }
  found->resize(FIELDS * kept);
}

bool Evaluation::settle(std::vector<int32_t>* found, const uint8_t* bytes, size_t len) {
  const size_t count = found->size() / FIELDS;
  if (count == 0) return true;
  const int32_t* m = found->data();
  // Matches by level, highest first, in the order found within a level (a counting sort).
  levelStart_.assign(static_cast<size_t>(levelCount) + 1, 0);
  for (size_t k = 0; k < count; k++) levelStart_[static_cast<size_t>(levels[static_cast<size_t>(m[FIELDS * k])]) + 1]++;
  for (size_t l = 1; l < levelStart_.size(); l++) levelStart_[l] += levelStart_[l - 1];
  order_.resize(count);
  levelFill_.assign(levelStart_.begin(), levelStart_.end());
  for (size_t k = 0; k < count; k++) order_[static_cast<size_t>(levelFill_[static_cast<size_t>(levels[static_cast<size_t>(m[FIELDS * k])])]++)] = static_cast<int32_t>(k);
  taken_.reset(len);
  kept_.clear();
  for (int32_t l = 0; l < levelCount; l++) {
    const int32_t from = levelStart_[static_cast<size_t>(l)], to = levelStart_[static_cast<size_t>(l) + 1];
    if (from == to) continue;
    level_.clear();
    bool mixed = false;
    for (int32_t k = from; k < to; k++) {
      const int32_t* x = &m[FIELDS * static_cast<size_t>(order_[static_cast<size_t>(k)])];
      mixed = mixed || x[0] != m[FIELDS * static_cast<size_t>(order_[static_cast<size_t>(from)])];
      size_t start = static_cast<size_t>(x[1]), end = static_cast<size_t>(x[2]);
      int32_t verdict = evaluate(static_cast<size_t>(x[0]), bytes, len, &start, &end, &taken_);
      if (verdict == VERDICT_JS) {
        evaluateEach(found, bytes, len);
        return false;
      }
      if (verdict == VERDICT_REJECT) continue;
      const bool boosted = verdict == VERDICT_BOOSTED;
      const double score = boosted ? scores[static_cast<size_t>(x[0])] + boost : scores[static_cast<size_t>(x[0])];
      level_.push_back({x[0], static_cast<ptrdiff_t>(start), static_cast<ptrdiff_t>(end), score, boosted});
    }
    // One recognizer's matches never overlap one another: only a level shared by several needs the ranking.
    if (mixed) {
      // A stable sort, as JavaScript's: an insertion sort for the usual tens of spans (std::stable_sort allocates
      // its buffer on every call), std::stable_sort beyond.
      auto before = [](const Kept& a, const Kept& b) {
        if (a.score != b.score) return a.score > b.score;
        if (a.end - a.start != b.end - b.start) return a.end - a.start > b.end - b.start;
        return a.start < b.start;
      };
      if (level_.size() > 32) std::stable_sort(level_.begin(), level_.end(), before);
      for (size_t i = 1; i < level_.size() && level_.size() <= 32; i++) {
        Kept x = level_[i];
        size_t j = i;
        for (; j > 0 && before(x, level_[j - 1]); j--) level_[j] = level_[j - 1];
        level_[j] = x;
      }
    }
    for (const Kept& k : level_) {
      if (taken_.overlaps(static_cast<size_t>(k.start), static_cast<size_t>(k.end))) continue;
      taken_.take(static_cast<size_t>(k.start), static_cast<size_t>(k.end));
      kept_.push_back(k);
    }
  }
  // Kept spans do not overlap: their starts are distinct.
  // Sorted as numbers, start and index in one, not as structs.
  keys_.resize(kept_.size());
  for (size_t k = 0; k < kept_.size(); k++) keys_[k] = (static_cast<uint64_t>(kept_[k].start) << 32) | k;
  std::sort(keys_.begin(), keys_.end());
  found->resize(FIELDS * kept_.size());
  for (size_t k = 0; k < kept_.size(); k++) {
    const Kept& x = kept_[keys_[k] & 0xffffffffu];
    int32_t* to = &(*found)[FIELDS * k];
    to[0] = x.rec;
    to[1] = static_cast<int32_t>(x.start);
    to[2] = static_cast<int32_t>(x.end);
    to[3] = x.boosted ? VERDICT_SETTLED_BOOSTED : VERDICT_SETTLED;
  }
  return true;
}

}  // namespace sluice
