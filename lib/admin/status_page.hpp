// The admin endpoint's status page (lib/admin/status_page.html, compiled in): one
// self-contained HTML page that renders /status every few seconds.
#pragma once
#include <string_view>

namespace meridian::admin {

std::string_view status_page_html();

}  // namespace meridian::admin
