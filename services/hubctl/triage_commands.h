// `hubctl triage ...`: explain an assessment locally, ask triage for a re-assessment, read a
// case's assessment history.
//
//   hubctl triage --explain FILE [--at RFC3339] [--json]
//       [--rules PATH] [--offence-table PATH] [--calendar PATH]
//     Assesses the crime report in FILE (hub.intake.v1.CrimeReport in JSON, as `hubctl
//     submit` takes) with the rule files, exactly as the triage service would, and prints
//     each victim's decision with the rule and reason behind every conclusion. Publishes
//     nothing and needs no running hub. The victim's earlier reports (repeat
//     victimisation) are not known offline; the service counts them.
//   hubctl triage reassess CASE_ID --reason REASON --request-id ID [--priority P]
//       [--marac] [--needs a,b] [--triage HOST:PORT] [--caller staff:hub:NAME]
//   hubctl triage history CASE_ID [--json] [--triage HOST:PORT] [--caller staff:hub:NAME]
#ifndef HUB_SERVICES_HUBCTL_TRIAGE_COMMANDS_H_
#define HUB_SERVICES_HUBCTL_TRIAGE_COMMANDS_H_

#include <istream>
#include <ostream>

#include "services/hubctl/cli.h"

namespace hub::hubctl {

// `parsed.positional` starts with "triage".
int Triage(const Parsed& parsed, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace hub::hubctl

#endif  // HUB_SERVICES_HUBCTL_TRIAGE_COMMANDS_H_
