// A fresh folder under the system's temp directory for one unit test, removed
// with its contents when the test ends.
#pragma once
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace meridian::test {

class UnitTempDir {
 public:
  UnitTempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "meridian-unit-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~UnitTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  UnitTempDir(const UnitTempDir&) = delete;
  UnitTempDir& operator=(const UnitTempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes path()/name (creating folders); returns its full path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = file(name);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::trunc) << text;
    return p;
  }

 private:
  std::string path_;
};

}  // namespace meridian::test
