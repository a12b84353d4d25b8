// JSON values, a strict parser, and two encoders: OLPC canonical JSON (what TUF signs) and
// ordinary RFC 8259 JSON (what Ferry writes to files and the wire).
//
// The parser is strict on purpose (signatures are computed over what we parse, so any leniency
// is a way to make two parsers see two documents):
//   - duplicate object keys, floats, fractions, exponents, integers outside +-(2^53-1),
//     invalid UTF-8, lone surrogates, control characters in strings, trailing data and
//     nesting deeper than ParseOptions::max_depth are errors;
//   - every error says where: "offset 17 (line 2, column 5): duplicate key \"version\"".
// Objects keep their members in document order (TUF clients take "the first hash in JSON
// object order"); the canonical encoder sorts them by UTF-8 bytes (= Unicode code point order).
// Unknown members are kept, so a canonical re-encoding covers every signed byte.
//
// Thread safety: Value is a regular value type; concurrent const access is safe.
#ifndef FERRY_BASE_JSON_H_
#define FERRY_BASE_JSON_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"

namespace ferry::json {

// Largest integer magnitude accepted: 2^53 - 1, the largest exactly representable in the
// IEEE doubles that JavaScript TUF clients parse numbers into.
inline constexpr std::int64_t kMaxSafeInteger = (std::int64_t{1} << 53) - 1;

class Value;
using Array = std::vector<Value>;
using Member = std::pair<std::string, Value>;

// An object: members in insertion (document) order, keys unique.
class Object {
 public:
  using iterator = std::vector<Member>::iterator;
  using const_iterator = std::vector<Member>::const_iterator;

  // nullptr if absent. Linear in the number of members.
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }

  // Replaces the value of an existing key, else appends.
  void Set(std::string key, Value value);
  // Appends without checking for an existing key; the caller guarantees uniqueness.
  void AppendUnique(std::string key, Value value);
  bool Erase(std::string_view key);

  // Defined after Value (which must be complete first).
  std::size_t size() const;
  bool empty() const;
  iterator begin();
  iterator end();
  const_iterator begin() const;
  const_iterator end() const;

  // Equality ignores member order.
  friend bool operator==(const Object& a, const Object& b);

 private:
  std::vector<Member> members_;
};

enum class Type { kNull, kBool, kInt, kString, kArray, kObject };

// Name for messages: "null", "boolean", "integer", "string", "array", "object".
std::string_view TypeName(Type t);

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}                               // NOLINT(google-explicit-constructor)
  Value(bool b) : v_(b) {}                               // NOLINT(google-explicit-constructor)
  Value(int i) : v_(std::int64_t{i}) {}                  // NOLINT(google-explicit-constructor)
  Value(std::int64_t i) : v_(i) {}                       // NOLINT(google-explicit-constructor)
  Value(std::uint64_t i) : v_(static_cast<std::int64_t>(i)) {}  // NOLINT
  Value(std::string s) : v_(std::move(s)) {}             // NOLINT(google-explicit-constructor)
  Value(std::string_view s) : v_(std::string(s)) {}      // NOLINT(google-explicit-constructor)
  Value(const char* s) : v_(std::string(s)) {}           // NOLINT(google-explicit-constructor)
  Value(Array a) : v_(std::move(a)) {}                   // NOLINT(google-explicit-constructor)
  Value(Object o) : v_(std::move(o)) {}                  // NOLINT(google-explicit-constructor)

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  // Accessors require the matching type (checked with assert).
  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  std::string& as_string() { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Object& as_object() { return std::get<Object>(v_); }

  // For objects: the member or nullptr; nullptr for non-objects too.
  const Value* Find(std::string_view key) const;

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::nullptr_t, bool, std::int64_t, std::string, Array, Object> v_{nullptr};
};

inline std::size_t Object::size() const { return members_.size(); }
inline bool Object::empty() const { return members_.empty(); }
inline Object::iterator Object::begin() { return members_.begin(); }
inline Object::iterator Object::end() { return members_.end(); }
inline Object::const_iterator Object::begin() const { return members_.begin(); }
inline Object::const_iterator Object::end() const { return members_.end(); }

struct ParseOptions {
  std::size_t max_depth = 64;
};

// Parses exactly one JSON value (surrounding whitespace allowed). See the file comment for
// what is rejected; errors are kParseError with a position.
Result<Value> Parse(std::string_view text, const ParseOptions& options = {});

// OLPC canonical JSON, as securesystemslib and tuf-js produce it: no whitespace, object keys
// sorted by UTF-8 bytes, strings with only '"' and '\' escaped (every other byte raw).
std::string EncodeCanonical(const Value& value);
void EncodeCanonical(const Value& value, std::string* out);

// RFC 8259 JSON: control characters escaped as \uXXXX (\n, \t, ... short forms), non-ASCII as
// raw UTF-8, members in insertion order. indent < 0 -> compact; otherwise pretty with that many
// spaces per level.
std::string Encode(const Value& value, int indent = -1);

}  // namespace ferry::json

#endif  // FERRY_BASE_JSON_H_
