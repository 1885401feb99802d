// The input format shared by the intake fuzz target and its seed maker: the first byte picks
// what the rest is, so one target covers every request intake validates.
//
//   byte 0 % 4 == 0   a binary SubmitCrimeReportRequest
//   byte 0 % 4 == 1   a binary UpdateCrimeReportRequest
//   byte 0 % 4 == 2   a binary SubmitSelfReferralRequest
//   byte 0 % 4 == 3   a CrimeReport in proto JSON (as in deploy/samples)
#ifndef HUB_TESTS_FUZZ_INTAKE_FUZZ_INPUT_H_
#define HUB_TESTS_FUZZ_INTAKE_FUZZ_INPUT_H_

#include <cstdint>

namespace hub::fuzz {

enum class IntakeInput : uint8_t {
  kCrimeReport = 0,
  kCrimeUpdate = 1,
  kSelfReferral = 2,
  kCrimeReportJson = 3,
};

inline constexpr int kIntakeInputKinds = 4;

}  // namespace hub::fuzz

#endif  // HUB_TESTS_FUZZ_INTAKE_FUZZ_INPUT_H_
