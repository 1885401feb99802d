// `hubctl tasks ...`: Hub staff's list of the messages that need a person (call tasks and
// email delivery checks, hub.notification.v1.StaffTaskService), and marking one done.
//
//   hubctl tasks list [--notification HOST:PORT] [--limit N] [--json] [--caller PRINCIPAL]
//     The open tasks, oldest due first (the service's default limit when none is given):
//     message id, due (UK local time), kind, template, case, the contact route to use and
//     why there was no written message. Nothing shown is personal data: open the victim's
//     contact details in the case system, by case and route.
//   hubctl tasks done MESSAGE_ID --outcome TEXT [--notification HOST:PORT] [--json]
//       [--caller PRINCIPAL]
//     Marks a task done with what happened (no personal data: no phone numbers or email
//     addresses). Repeating it is harmless: the first completion stands and is shown.
//
// The address comes from --notification, else HUB_NOTIFICATION_ADDR, else 127.0.0.1:50054.
// The caller is --caller, else HUB_CALLER, else staff:hub:<login name> (staff:hub:hubctl
// when $USER is not usable in a principal); it is recorded as who completed the task.
#ifndef HUB_SERVICES_HUBCTL_TASK_COMMANDS_H_
#define HUB_SERVICES_HUBCTL_TASK_COMMANDS_H_

#include <ostream>

#include "services/hubctl/cli.h"

namespace hub::hubctl {

// `parsed.positional` starts with "tasks".
int Tasks(const Parsed& parsed, std::ostream& out, std::ostream& err);

}  // namespace hub::hubctl

#endif  // HUB_SERVICES_HUBCTL_TASK_COMMANDS_H_
