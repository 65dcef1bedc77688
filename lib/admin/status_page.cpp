#include "admin/status_page.hpp"

#include "status_page_html.hpp"  // generated from status_page.html (lib/CMakeLists.txt)

namespace meridian::admin {

std::string_view status_page_html() { return generated::kStatusPageHtml; }

}  // namespace meridian::admin
