#include "base/json.h"

#include <algorithm>
#include <charconv>

namespace ferry::json {

// ---------------------------------------------------------------------------------------------
// Object / Value

const Value* Object::Find(std::string_view key) const {
  for (const auto& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

Value* Object::Find(std::string_view key) {
  for (auto& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

void Object::Set(std::string key, Value value) {
  if (Value* v = Find(key)) {
    *v = std::move(value);
  } else {
    members_.emplace_back(std::move(key), std::move(value));
  }
}

void Object::AppendUnique(std::string key, Value value) {
  members_.emplace_back(std::move(key), std::move(value));
}

bool Object::Erase(std::string_view key) {
  auto it = std::find_if(members_.begin(), members_.end(),
                         [&](const Member& m) { return m.first == key; });
  if (it == members_.end()) return false;
  members_.erase(it);
  return true;
}

bool operator==(const Object& a, const Object& b) {
  if (a.size() != b.size()) return false;
  for (const auto& m : a) {
    const Value* other = b.Find(m.first);
    if (other == nullptr || !(*other == m.second)) return false;
  }
  return true;
}

const Value* Value::Find(std::string_view key) const {
  return is_object() ? as_object().Find(key) : nullptr;
}

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kInt: return "integer";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Parser

namespace {

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options) : s_(text), options_(options) {}

  Result<Value> ParseDocument() {
    SkipWs();
    Value v;
    if (!ParseValue(&v, 0)) return TakeError();
    SkipWs();
    if (pos_ != s_.size()) {
      Fail("unexpected data after the JSON value");
      return TakeError();
    }
    return v;
  }

 private:
  bool Fail(std::string_view msg) { return FailAt(pos_, msg); }
  bool FailAt(std::size_t pos, std::string_view msg) {
    if (!failed_) {
      failed_ = true;
      error_pos_ = pos;
      error_msg_ = std::string(msg);
    }
    return false;
  }
  Error TakeError() const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < error_pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return Error(Errc::kParseError, "JSON offset " + std::to_string(error_pos_) + " (line " +
                                        std::to_string(line) + ", column " + std::to_string(col) +
                                        "): " + error_msg_);
  }

  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Value* out, std::size_t depth) {
    if (pos_ >= s_.size()) return Fail("unexpected end of input, expected a value");
    switch (s_[pos_]) {
      case '{': return ParseObject(out, depth + 1);
      case '[': return ParseArray(out, depth + 1);
      case '"': {
        std::string str;
        if (!ParseString(&str)) return false;
        *out = Value(std::move(str));
        return true;
      }
      case 't':
        if (!Literal("true")) return false;
        *out = Value(true);
        return true;
      case 'f':
        if (!Literal("false")) return false;
        *out = Value(false);
        return true;
      case 'n':
        if (!Literal("null")) return false;
        *out = Value();
        return true;
      default:
        if (s_[pos_] == '-' || (s_[pos_] >= '0' && s_[pos_] <= '9')) return ParseNumber(out);
        return Fail("unexpected character, expected a value");
    }
  }

  bool ParseNumber(Value* out) {
    const std::size_t start = pos_;
    bool negative = false;
    if (s_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    const std::size_t digits_start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    const std::size_t ndigits = pos_ - digits_start;
    if (ndigits == 0) return FailAt(start, "invalid number");
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
      return FailAt(start, "only integers are allowed (no fractions or exponents)");
    }
    if (ndigits > 1 && s_[digits_start] == '0') return FailAt(start, "leading zero in number");
    if (ndigits > 16) return FailAt(start, "integer out of range (magnitude above 2^53-1)");
    std::int64_t v = 0;
    std::from_chars(s_.data() + digits_start, s_.data() + pos_, v);
    if (v > kMaxSafeInteger) return FailAt(start, "integer out of range (magnitude above 2^53-1)");
    *out = Value(negative ? -v : v);
    return true;
  }

  static bool IsCont(unsigned char c) { return (c & 0xC0) == 0x80; }

  // Validates one UTF-8 sequence starting at pos_ and appends it. Rejects overlong forms,
  // surrogates and code points above U+10FFFF (RFC 3629).
  bool CopyUtf8(std::string* out) {
    const auto* p = reinterpret_cast<const unsigned char*>(s_.data());
    const std::size_t n = s_.size();
    const unsigned char c = p[pos_];
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return Fail("invalid UTF-8 lead byte in string");
    }
    if (pos_ + len > n) return Fail("truncated UTF-8 sequence in string");
    for (std::size_t i = 1; i < len; ++i) {
      if (!IsCont(p[pos_ + i])) return Fail("invalid UTF-8 continuation byte in string");
      cp = (cp << 6) | (p[pos_ + i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return Fail("overlong UTF-8 encoding in string");
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return Fail("UTF-8 encoded surrogate in string");
    if (cp > 0x10FFFF) return Fail("code point above U+10FFFF in string");
    out->append(s_.data() + pos_, len);
    pos_ += len;
    return true;
  }

  static void AppendUtf8(std::uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool Hex4(std::uint32_t* out) {
    if (pos_ + 4 > s_.size()) return Fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_ + static_cast<std::size_t>(i)];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return Fail("invalid hex digit in \\u escape");
      }
    }
    pos_ += 4;
    *out = v;
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= s_.size()) return Fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("raw control character in string (must be escaped)");
      if (c != '\\') {
        if (!CopyUtf8(out)) return false;
        continue;
      }
      const std::size_t esc = pos_;
      ++pos_;
      if (pos_ >= s_.size()) return Fail("unterminated escape");
      switch (s_[pos_++]) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return FailAt(esc, "lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t lo = 0;
            if (s_.substr(pos_, 2) != "\\u") return FailAt(esc, "lone high surrogate in \\u escape");
            pos_ += 2;
            if (!Hex4(&lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return FailAt(esc, "invalid surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return FailAt(esc, "invalid escape sequence");
      }
    }
  }

  bool CheckDepth(std::size_t depth) {
    if (depth > options_.max_depth) {
      return Fail("nesting deeper than " + std::to_string(options_.max_depth) + " levels");
    }
    return true;
  }

  bool ParseArray(Value* out, std::size_t depth) {
    if (!CheckDepth(depth)) return false;
    ++pos_;
    Array arr;
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      *out = Value(std::move(arr));
      return true;
    }
    for (;;) {
      SkipWs();
      Value v;
      if (!ParseValue(&v, depth)) return false;
      arr.push_back(std::move(v));
      SkipWs();
      if (pos_ >= s_.size()) return Fail("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        *out = Value(std::move(arr));
        return true;
      }
      return Fail("expected ',' or ']' in array");
    }
  }

  bool ParseObject(Value* out, std::size_t depth) {
    if (!CheckDepth(depth)) return false;
    ++pos_;
    Object obj;
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      *out = Value(std::move(obj));
      return true;
    }
    std::vector<std::size_t> key_offsets;
    for (;;) {
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("expected a string key in object");
      key_offsets.push_back(pos_);
      std::string key;
      if (!ParseString(&key)) return false;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected ':' after object key");
      ++pos_;
      SkipWs();
      Value v;
      if (!ParseValue(&v, depth)) return false;
      obj.AppendUnique(std::move(key), std::move(v));
      SkipWs();
      if (pos_ >= s_.size()) return Fail("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Fail("expected ',' or '}' in object");
    }
    // Duplicate keys: sort indices by key, compare neighbours. O(n log n) for big targets maps.
    std::vector<std::size_t> idx(obj.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::vector<const std::string*> names;
    names.reserve(obj.size());
    for (const auto& m : obj) names.push_back(&m.first);
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      int c = names[a]->compare(*names[b]);
      return c != 0 ? c < 0 : a < b;
    });
    for (std::size_t i = 1; i < idx.size(); ++i) {
      if (*names[idx[i]] == *names[idx[i - 1]]) {
        return FailAt(key_offsets[idx[i]], "duplicate key \"" + *names[idx[i]] + "\" in object");
      }
    }
    *out = Value(std::move(obj));
    return true;
  }

  std::string_view s_;
  const ParseOptions& options_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::size_t error_pos_ = 0;
  std::string error_msg_;
};

}  // namespace

Result<Value> Parse(std::string_view text, const ParseOptions& options) {
  Parser p(text, options);
  return p.ParseDocument();
}

// ---------------------------------------------------------------------------------------------
// Encoders

namespace {

void CanonicalString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void JsonString(const std::string& s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

void Newline(int indent, int level, std::string* out) {
  out->push_back('\n');
  out->append(static_cast<std::size_t>(indent * level), ' ');
}

void EncodeImpl(const Value& v, int indent, int level, std::string* out) {
  switch (v.type()) {
    case Type::kNull: out->append("null"); return;
    case Type::kBool: out->append(v.as_bool() ? "true" : "false"); return;
    case Type::kInt: out->append(std::to_string(v.as_int())); return;
    case Type::kString: JsonString(v.as_string(), out); return;
    case Type::kArray: {
      const Array& a = v.as_array();
      out->push_back('[');
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out->push_back(',');
        if (indent >= 0) Newline(indent, level + 1, out);
        EncodeImpl(a[i], indent, level + 1, out);
      }
      if (indent >= 0 && !a.empty()) Newline(indent, level, out);
      out->push_back(']');
      return;
    }
    case Type::kObject: {
      const Object& o = v.as_object();
      out->push_back('{');
      bool first = true;
      for (const auto& m : o) {
        if (!first) out->push_back(',');
        first = false;
        if (indent >= 0) Newline(indent, level + 1, out);
        JsonString(m.first, out);
        out->append(indent >= 0 ? ": " : ":");
        EncodeImpl(m.second, indent, level + 1, out);
      }
      if (indent >= 0 && !o.empty()) Newline(indent, level, out);
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

void EncodeCanonical(const Value& v, std::string* out) {
  switch (v.type()) {
    case Type::kNull: out->append("null"); return;
    case Type::kBool: out->append(v.as_bool() ? "true" : "false"); return;
    case Type::kInt: out->append(std::to_string(v.as_int())); return;
    case Type::kString: CanonicalString(v.as_string(), out); return;
    case Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) out->push_back(',');
        first = false;
        EncodeCanonical(e, out);
      }
      out->push_back(']');
      return;
    }
    case Type::kObject: {
      const Object& o = v.as_object();
      std::vector<const Member*> sorted;
      sorted.reserve(o.size());
      for (const auto& m : o) sorted.push_back(&m);
      // std::string::compare compares as unsigned bytes: UTF-8 byte order = code point order.
      std::sort(sorted.begin(), sorted.end(),
                [](const Member* a, const Member* b) { return a->first < b->first; });
      out->push_back('{');
      bool first = true;
      for (const Member* m : sorted) {
        if (!first) out->push_back(',');
        first = false;
        CanonicalString(m->first, out);
        out->push_back(':');
        EncodeCanonical(m->second, out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string EncodeCanonical(const Value& value) {
  std::string out;
  EncodeCanonical(value, &out);
  return out;
}

std::string Encode(const Value& value, int indent) {
  std::string out;
  EncodeImpl(value, indent, 0, &out);
  return out;
}

}  // namespace ferry::json
