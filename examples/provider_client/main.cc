// hub-provider: a support provider's command-line client for the hub's ProviderService.
// Parses the command line, opens the channel and runs the command; see README.md.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "examples/provider_client/client.h"
#include "examples/provider_client/commands.h"
#include "examples/provider_client/run.h"

namespace hub::provider_client {
namespace {

int Main(const std::vector<std::string>& args) {
  Options options;
  std::string error;
  if (!ParseArgs(args, &options, &error)) {
    std::cerr << "hub-provider: " << error << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (options.command == Command::kHelp) {
    std::cout << kUsage;
    return kExitOk;
  }
  ConnectionOptions connection;
  connection.target = options.target;
  connection.caller = options.caller;
  connection.tls_ca_file = options.tls_ca_file;
  connection.tls_cert_file = options.tls_cert_file;
  connection.tls_key_file = options.tls_key_file;
  std::shared_ptr<grpc::Channel> channel = CreateChannel(connection, &error);
  if (channel == nullptr) {
    std::cerr << "hub-provider: " << error << "\n";
    return kExitUsage;
  }
  ProviderClient client(hub::routing::v1::ProviderService::NewStub(channel), options.caller);
  return RunCommand(options, client, std::cout, std::cerr);
}

}  // namespace
}  // namespace hub::provider_client

int main(int argc, char** argv) {
  return hub::provider_client::Main(std::vector<std::string>(argv + 1, argv + argc));
}
