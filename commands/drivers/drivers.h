// Factories for the built-in drivers. DriverRegistry::BuiltIn() holds one of each.
#pragma once

#include <memory>

#include "commands/driver.h"

namespace rollbook::commands {

std::unique_ptr<Driver> MakeExecDriver();
std::unique_ptr<Driver> MakeFlagdDriver();
std::unique_ptr<Driver> MakePostgresDriver();
std::unique_ptr<Driver> MakeRedisDriver();
std::unique_ptr<Driver> MakeHttpDriver();
std::unique_ptr<Driver> MakeRotateKeyDriver();
std::unique_ptr<Driver> MakeNotifyDriver();

}  // namespace rollbook::commands
