// Early-return helpers for absl::Status and absl::StatusOr.
//
// The Debian Abseil (20220623) has no ABSL_RETURN_IF_ERROR, so the project keeps its own
// two macros here. They are the only macros the project defines for control flow.
#ifndef HUB_SERVICES_COMMON_STATUS_STATUS_MACROS_H_
#define HUB_SERVICES_COMMON_STATUS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HUB_STATUS_CONCAT_INNER_(a, b) a##b
#define HUB_STATUS_CONCAT_(a, b) HUB_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define HUB_RETURN_IF_ERROR(expr)                                 \
  do {                                                            \
    if (::absl::Status hub_status_ = (expr); !hub_status_.ok()) { \
      return hub_status_;                                         \
    }                                                             \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves
// the value into `lhs`, which may be a declaration such as `auto x`.
#define HUB_ASSIGN_OR_RETURN(lhs, rexpr) \
  HUB_ASSIGN_OR_RETURN_IMPL_(HUB_STATUS_CONCAT_(hub_statusor_, __LINE__), lhs, rexpr)

// `lhs` may be a declaration, so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define HUB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) {                                  \
    return std::move(statusor).status();                 \
  }                                                      \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)

#endif  // HUB_SERVICES_COMMON_STATUS_STATUS_MACROS_H_
