// The registry of built-in drivers.
#include "commands/drivers/drivers.h"

namespace rollbook::commands {
namespace {

DriverRegistry MakeBuiltInRegistry() {
  DriverRegistry registry;
  registry.Add(MakeExecDriver());
  registry.Add(MakeFlagdDriver());
  registry.Add(MakePostgresDriver());
  registry.Add(MakeRedisDriver());
  registry.Add(MakeHttpDriver());
  registry.Add(MakeRotateKeyDriver());
  registry.Add(MakeNotifyDriver());
  return registry;
}

}  // namespace

const DriverRegistry& DriverRegistry::BuiltIn() {
  static const DriverRegistry registry = MakeBuiltInRegistry();
  return registry;
}

}  // namespace rollbook::commands
