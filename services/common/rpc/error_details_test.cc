#include "services/common/rpc/error_details.h"

#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::rpc {
namespace {

using ::hub::testing::StatusIs;

TEST(ErrorDetailsTest, InvalidArgumentCarriesAStandardBadRequest) {
  grpc::Status status =
      InvalidArgument("2 bad fields", {{"report.force_code", "is required"},
                                       {"report.victims[0].age_at_offence", "must be 0-120"}});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "2 bad fields");

  // What a standard client sees in grpc-status-details-bin.
  google::rpc::Status wire;
  ASSERT_TRUE(wire.ParseFromString(status.error_details()));
  EXPECT_EQ(wire.code(), 3);
  ASSERT_EQ(wire.details_size(), 1);
  EXPECT_EQ(wire.details(0).type_url(), "type.googleapis.com/google.rpc.BadRequest");

  ASSERT_OK_AND_ASSIGN(google::rpc::BadRequest bad_request, BadRequestOf(status));
  ASSERT_EQ(bad_request.field_violations_size(), 2);
  EXPECT_EQ(bad_request.field_violations(1).field(), "report.victims[0].age_at_offence");
  EXPECT_EQ(bad_request.field_violations(1).description(), "must be 0-120");
}

TEST(ErrorDetailsTest, PlainStatusesHaveNoBadRequest) {
  EXPECT_THAT(BadRequestOf(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(ToGrpcStatus(absl::PermissionDeniedError("no")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace hub::rpc
