// hubctl: the hub's command line (see hubctl.h).
#include <iostream>

#include "services/hubctl/hubctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return hub::hubctl::Run(args, std::cout, std::cerr);
}
