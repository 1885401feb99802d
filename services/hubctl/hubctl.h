// hubctl: the hub's command line for people — police IT testing a feed, Hub staff reading
// a case, engineers creating topics or moving a test clock.
//
//   hubctl submit [--intake HOST:PORT] [--caller PRINCIPAL] FILE...   (FILE "-" is stdin)
//   hubctl case get CASE_ID [--cases HOST:PORT] [--json]
//   hubctl case list [--cases HOST:PORT] [--limit N] [--json]
//   hubctl topics ensure [--kafka HOST:PORT] [--namespace NS]
//   hubctl topics list [--namespace NS]
//   hubctl clock show|freeze TIME|offset DURATION|real --file PATH
//   hubctl tasks list [--notification HOST:PORT] [--limit N] [--json]
//   hubctl tasks done MESSAGE_ID --outcome TEXT [--notification HOST:PORT]
//
// Addresses default to the local stack's ports and can be set with HUB_INTAKE_ADDR,
// HUB_CASES_ADDR, HUB_NOTIFICATION_ADDR and HUB_KAFKA_BOOTSTRAP. Every command exits 0 on
// success, 1 when the hub refused or failed, 2 on bad usage, and prints errors to stderr.
#ifndef HUB_SERVICES_HUBCTL_HUBCTL_H_
#define HUB_SERVICES_HUBCTL_HUBCTL_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace hub::hubctl {

// Runs one hubctl command line (without the program name) reading "-" files from `in`;
// returns the exit code.
int Run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err);
// The same, reading "-" from standard input.
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace hub::hubctl

#endif  // HUB_SERVICES_HUBCTL_HUBCTL_H_
