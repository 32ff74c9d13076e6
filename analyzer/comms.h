// Communication texts filled from ledger facts: `rollbook comms ID --template NAME`.
//
// Templates are Mustache (kainjow-mustache). The built-in ones (internal-start, internal-update,
// internal-resolved, external-start, external-resolved, post-incident) are compiled into the
// binary. A templates directory may override them and add more: <dir>/<name>.mustache.
//
// Before rendering, every tag is checked against the data, so a placeholder the data lacks is
// an error naming it and never renders as an empty string. Output is plain text, so values are
// not HTML-escaped. docs/communication-templates.md lists the data fields.
#pragma once

#include <string>
#include <vector>

#include "analyzer/analysis.h"

namespace rollbook::analyzer {

struct CommsOptions {
  std::string templates_dir;  // optional; its templates win over built-ins of the same name
  int64_t as_of_ns = 0;       // "now" for the overdue flag of action items
};

// Returns the names of the built-in templates.
std::vector<std::string> BuiltInTemplateNames();

// Returns the built-in template's text, or an empty string for an unknown name.
std::string BuiltInTemplate(const std::string& name);

// Returns every available template name, built-in and from the directory, sorted.
Result<std::vector<std::string>> ListTemplates(const CommsOptions& options);

// Returns the data a template sees, as pretty-printed JSON, for writing new templates.
std::string CommsDataJson(const Analysis& analysis, const CommsOptions& options);

// Renders template `name` for the analyzed rollback. Fails with kNotFound for an unknown
// template (listing the known ones) and kInvalidArgument for a template that does not parse
// or names a placeholder missing from the data.
Result<std::string> RenderComms(const Analysis& analysis, const std::string& name,
                                const CommsOptions& options);

// Renders template text directly; `name` is used in error messages.
Result<std::string> RenderCommsText(const Analysis& analysis, const std::string& name,
                                    const std::string& text, const CommsOptions& options);

}  // namespace rollbook::analyzer
