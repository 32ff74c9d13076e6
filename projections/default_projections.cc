#include "projections/audit_projection.h"
#include "projections/components_projection.h"
#include "projections/metrics_projection.h"
#include "projections/rollbacks_projection.h"
#include "projections/runner.h"

namespace rollbook::projections {

std::vector<std::unique_ptr<Projection>> MakeDefaultProjections() {
  std::vector<std::unique_ptr<Projection>> projections;
  projections.push_back(std::make_unique<RollbacksProjection>());
  projections.push_back(std::make_unique<ComponentsProjection>());
  projections.push_back(std::make_unique<MetricsProjection>());
  projections.push_back(std::make_unique<AuditProjection>());
  return projections;
}

}  // namespace rollbook::projections
