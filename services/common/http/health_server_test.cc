#include "services/common/http/health_server.h"

#include <httplib.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::http {
namespace {

using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

TEST(HealthServerTest, ServesHealthReadinessAndMetrics) {
  metrics::Registry registry;
  registry.AddGauge("hub_test_up", "Up.")->Set(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HealthServer> server,
                       HealthServer::Create({"127.0.0.1", 0}, &registry));
  std::atomic<bool> redis_up{false};
  server->AddReadinessCheck({"redis", [&redis_up] {
                               return redis_up ? absl::OkStatus()
                                               : absl::UnavailableError("no PONG");
                             }});
  server->Start();
  httplib::Client client("127.0.0.1", server->port());

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_THAT(not_ready->body, HasSubstr("redis: UNAVAILABLE: no PONG"));

  redis_up = true;
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("hub_test_up 1\n"));

  server->MarkStopping();
  auto stopping = client.Get("/readyz");
  ASSERT_TRUE(stopping);
  EXPECT_EQ(stopping->status, 503);
  server->Stop();
}

TEST(HealthServerTest, TakenPortFailsNamingTheSetting) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HealthServer> first,
                       HealthServer::Create({"127.0.0.1", 0}, nullptr));
  EXPECT_THAT(HealthServer::Create({"127.0.0.1", first->port()}, nullptr),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("--http-addr")));
}

}  // namespace
}  // namespace hub::http
