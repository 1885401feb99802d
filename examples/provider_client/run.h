// Runs one parsed hub-provider command against the hub: the calls each command makes, in
// order, and what it prints. Split from main.cc so tests can run commands against an
// in-process fake hub and read the output.
//
// The long-running commands (offers --follow, work) reconnect the offer stream when it
// ends with UNAVAILABLE or the hub closes it: the hub resends every offer after the last
// acknowledged one, and offers already seen in this run are skipped by sequence.
#ifndef HUB_EXAMPLES_PROVIDER_CLIENT_RUN_H_
#define HUB_EXAMPLES_PROVIDER_CLIENT_RUN_H_

#include <ostream>

#include "examples/provider_client/client.h"
#include "examples/provider_client/commands.h"

namespace hub::provider_client {

// Runs `options.command` (anything but kHelp); returns the exit code. Results go to `out`,
// errors and progress notes to `err`.
int RunCommand(const Options& options, ProviderClient& client, std::ostream& out,
               std::ostream& err);

}  // namespace hub::provider_client

#endif  // HUB_EXAMPLES_PROVIDER_CLIENT_RUN_H_
