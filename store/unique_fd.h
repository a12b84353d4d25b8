// UniqueFd: sole owner of a POSIX file descriptor, closed on destruction.
//
// Thread safety: one owner at a time, like std::unique_ptr.
#ifndef FERRY_STORE_UNIQUE_FD_H_
#define FERRY_STORE_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace ferry::store {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of `fd` (-1 for none).
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership: the caller must close the returned descriptor.
  int Release() { return std::exchange(fd_, -1); }
  // Closes the held descriptor (ignoring errors) and takes `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes the held descriptor and returns close()'s result: 0, or -1 with errno set. A failed
  // close can report a deferred write error, so writers check it.
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_ = -1;
};

}  // namespace ferry::store

#endif  // FERRY_STORE_UNIQUE_FD_H_
