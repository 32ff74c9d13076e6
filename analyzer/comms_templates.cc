// The built-in communication templates. docs/communication-templates.md shows them with the
// data fields they may use; a templates directory can replace any of them.

#include <map>

#include "analyzer/comms.h"

namespace rollbook::analyzer {
namespace {

constexpr const char* kInternalStart =
    R"(Rollback {{rollback_id}} started: {{feature}} in {{environment}}

Reason: {{reason}}
Started by {{requested_by}} at {{requested_at}}, scope {{scope}}{{#has_mode}}, mode {{mode}}{{/has_mode}}{{#drill}} (drill){{/drill}}.
Components: {{component_names}}
Time budget: {{budget}}

Follow progress with `rollbook status {{rollback_id}}`. The next update comes when the rollback completes.
)";

constexpr const char* kInternalUpdate =
    R"(Update on rollback {{rollback_id}} ({{feature}} in {{environment}}): {{status}}{{#completed}}, {{outcome}}{{/completed}}

Elapsed: {{duration}} (budget {{budget}})
{{#components}}
- {{name}}: {{status}} after {{duration}}
{{/components}}
{{#has_failures}}

Failed attempts ({{failure_count}}, {{retry_count}} retried):
{{#failures}}
- {{step}} attempt {{attempt}} at {{at}}: {{error}}
{{/failures}}
{{/has_failures}}
{{#has_notes}}

Notes:
{{#notes}}
- {{actor}}: {{text}}
{{/notes}}
{{/has_notes}}
)";

constexpr const char* kInternalResolved =
    R"(Rollback {{rollback_id}} of {{feature}} in {{environment}} finished: {{outcome}}

Duration: {{duration}} (budget {{budget}}{{#over_budget}}, over budget{{/over_budget}})
Components: {{components_summary}}
Summary: {{summary}}
Monitoring: {{monitor_summary}}
{{#has_alerts}}

Alerts:
{{#alerts}}
- {{probe}} {{kind}} {{threshold}} at {{at}}
{{/alerts}}
{{/has_alerts}}
{{#has_findings}}

Findings that need a look:
{{#findings}}
- [{{severity}}] {{message}}
{{/findings}}
{{/has_findings}}

The incident report: `rollbook report {{rollback_id}} --format html --output {{rollback_id}}.html`
)";

constexpr const char* kExternalStart = R"(We are investigating a problem with {{feature}}.

To protect your data and the service, we are turning off a recent change. While we do this, {{feature}} may be unavailable or behave as it did before the change. Other features are not affected.

We started at {{requested_at}} and will post an update when the work is complete.
)";

constexpr const char* kExternalResolved = R"({{#succeeded}}The problem with {{feature}} is resolved.

We turned off the recent change that caused it, and the service has worked normally since {{completed_at}}. No action is needed on your side.
{{/succeeded}}{{^succeeded}}We are still working on the problem with {{feature}}.

Turning off the recent change did not finish as planned, and our engineers are working on the remaining part. We will post another update soon.
{{/succeeded}}
Thank you for your patience.
)";

constexpr const char* kPostIncident =
    R"(Post-incident review: rollback {{rollback_id}} of {{feature}} in {{environment}}

What happened
- Reason for the rollback: {{reason}}
- Requested by {{requested_by}} at {{requested_at}}; completed at {{completed_at}}
- Outcome: {{outcome}} after {{duration}} (budget {{budget}}){{#over_budget}}, over budget{{/over_budget}}
- Critical path: {{critical_path}}
- Against earlier rollbacks: {{trend}}

Contributing factors
{{#notes}}
- {{text}} ({{actor}})
{{/notes}}
{{^has_notes}}
- none recorded
{{/has_notes}}

What went wrong during the rollback
{{#failures}}
- {{step}} attempt {{attempt}}: {{error}}
{{/failures}}
{{#skipped}}
- {{step}} was skipped by {{actor}}: {{reason}}
{{/skipped}}
{{#findings}}
- [{{severity}}] {{message}}
{{/findings}}
{{^has_problems}}
- nothing
{{/has_problems}}

Recommendations
{{#recommendations}}
- {{text}}
{{/recommendations}}
{{^has_recommendations}}
- none
{{/has_recommendations}}

Action items
{{#action_items}}
- {{id}} ({{owner}}, {{due}}, {{status}}): {{text}}
{{/action_items}}
{{^has_action_items}}
- none yet; add them with `rollbook action add {{rollback_id}} TEXT --owner NAME --due TIME`
{{/has_action_items}}

Lessons learned
{{#lessons}}
- {{text}}
{{/lessons}}
{{^has_lessons}}
- none recorded
{{/has_lessons}}
)";

const std::map<std::string, const char*>& Templates() {
  static const std::map<std::string, const char*> kTemplates = {
      {"internal-start", kInternalStart},       {"internal-update", kInternalUpdate},
      {"internal-resolved", kInternalResolved}, {"external-start", kExternalStart},
      {"external-resolved", kExternalResolved}, {"post-incident", kPostIncident}};
  return kTemplates;
}

}  // namespace

std::vector<std::string> BuiltInTemplateNames() {
  std::vector<std::string> names;
  for (const auto& [name, text] : Templates()) names.push_back(name);
  return names;
}

std::string BuiltInTemplate(const std::string& name) {
  auto found = Templates().find(name);
  return found == Templates().end() ? std::string() : std::string(found->second);
}

}  // namespace rollbook::analyzer
