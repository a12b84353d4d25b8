// Result<T>: either a value or an Error (the shape of C++23 std::expected, which g++ 12 lacks
// in C++20 mode). Status is Result<void>. Both are [[nodiscard]]: an ignored error is a bug.
//
//   Result<Root> root = ParseRoot(bytes);
//   if (!root) return root.error();
//   Use(*root);
//
// FERRY_TRY(expr) returns the error of a failed Status/Result from the enclosing function;
// FERRY_ASSIGN_OR_RETURN(lhs, expr) also moves the value into lhs.
#ifndef FERRY_BASE_RESULT_H_
#define FERRY_BASE_RESULT_H_

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "base/error.h"

namespace ferry {

template <class T>
class [[nodiscard]] Result {
 public:
  // NOLINTBEGIN(google-explicit-constructor): implicit by design, as std::expected.
  template <class U = T>
    requires(std::is_constructible_v<T, U &&> &&
             !std::is_same_v<std::remove_cvref_t<U>, Error> &&
             !std::is_same_v<std::remove_cvref_t<U>, Result<T>>)
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}
  // NOLINTEND(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_{Errc::kOk, {}};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status OkStatus() { return {}; }

}  // namespace ferry

#define FERRY_CONCAT_INNER_(a, b) a##b
#define FERRY_CONCAT_(a, b) FERRY_CONCAT_INNER_(a, b)

#define FERRY_TRY(expr) FERRY_TRY_IMPL_(FERRY_CONCAT_(ferry_try_, __COUNTER__), expr)
#define FERRY_TRY_IMPL_(tmp, expr)         \
  do {                                     \
    auto&& tmp = (expr);                   \
    if (!tmp) {                            \
      return std::move(tmp).error();       \
    }                                      \
  } while (false)

#define FERRY_ASSIGN_OR_RETURN(lhs, expr) \
  FERRY_ASSIGN_OR_RETURN_IMPL_(FERRY_CONCAT_(ferry_result_, __COUNTER__), lhs, expr)
#define FERRY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp) {                                        \
    return std::move(tmp).error();                   \
  }                                                  \
  lhs = std::move(tmp).value()

#endif  // FERRY_BASE_RESULT_H_
