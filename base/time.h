// Wall-clock time as whole seconds since the Unix epoch, and the one timestamp format TUF
// allows: "YYYY-MM-DDTHH:MM:SSZ".
//
// Reads of the wall clock go through libc (clock_gettime via std::chrono::system_clock), so
// libfaketime works. Verification code never reads the clock itself: it takes a reference
// time from its caller, read once per update (TUF 1.0 section 5.1, "fixed update start time").
#ifndef FERRY_BASE_TIME_H_
#define FERRY_BASE_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ferry {

using UnixTime = std::int64_t;

// Current wall-clock time.
UnixTime NowUnix();

// Strict parse of "YYYY-MM-DDTHH:MM:SSZ" (exactly 20 characters; no fractions, no offsets,
// fields in range, year 1970..9999). Anything else is kParseError saying what is wrong.
Result<UnixTime> ParseTufTime(std::string_view text);

// Formats as "YYYY-MM-DDTHH:MM:SSZ". `t` must be in 1970..9999.
std::string FormatTufTime(UnixTime t);

}  // namespace ferry

#endif  // FERRY_BASE_TIME_H_
