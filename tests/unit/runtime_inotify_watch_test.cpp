// The inotify watch behind live reloads: a watched folder reports its *.json
// files (written, replaced by rename, removed) and ignores other names; a file
// is watched through its folder, so an editor's rename-over is seen and its
// neighbours are not; a folder that does not exist yet is seen when created;
// paths whose folder is missing are reported as not watched.
#include <doctest/doctest.h>

#include <poll.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/inotify_watch.hpp"
#include "unit/support/temp_dir.hpp"

using meridian::runtime::InotifyWatch;
namespace fs = std::filesystem;

namespace {

using TempDir = meridian::test::UnitTempDir;

// True when the watch reports a relevant change within `within` (generous: the
// kernel queues events at once, but the machine may be loaded).
bool reports_change(InotifyWatch& w, std::chrono::milliseconds within = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{w.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0 && w.changed()) return true;
  }
}

// No relevant change: nothing pending after a short wait (irrelevant events are read and dropped).
bool stays_quiet(InotifyWatch& w) { return !reports_change(w, std::chrono::milliseconds(200)); }

}  // namespace

TEST_SUITE("runtime.inotify") {
  TEST_CASE("a watched folder reports its *.json files and ignores other names") {
    TempDir d;
    fs::create_directories(d.file("health"));
    InotifyWatch w;
    REQUIRE(w.ok());
    REQUIRE(w.watch({d.file("health/")}));
    CHECK(stays_quiet(w));

    d.write("health/notes.txt", "x");
    d.write("health/ops.json.tmp", "{}");
    CHECK(stays_quiet(w));

    d.write("health/ops.json", "{}");
    CHECK(reports_change(w));
    CHECK(stays_quiet(w));  // drained

    d.write("health/next.tmp", R"({"a": "down"})");
    fs::rename(d.file("health/next.tmp"), d.file("health/ops.json"));
    CHECK(reports_change(w));

    fs::remove(d.file("health/ops.json"));
    CHECK(reports_change(w));
  }

  TEST_CASE("a file is watched through its folder: a rename over it is seen, its neighbours are not") {
    TempDir d;
    const std::string config = d.write("meridian.json", "{}");
    InotifyWatch w;
    REQUIRE(w.watch({config}));
    d.write("other.json", "{}");
    CHECK(stays_quiet(w));

    d.write("meridian.json.swp", "{\"x\": 1}");
    CHECK(stays_quiet(w));
    fs::rename(d.file("meridian.json.swp"), config);
    CHECK(reports_change(w));

    d.write("meridian.json", "{\"x\": 2}");  // written in place
    CHECK(reports_change(w));
  }

  TEST_CASE("a folder that does not exist yet is seen when it is created; a missing parent is not watched") {
    TempDir d;
    InotifyWatch w;
    CHECK(w.watch({d.file("health")}));
    fs::create_directories(d.file("health"));
    CHECK(reports_change(w));
    // Watched again (as the server does after each look), its files count too.
    CHECK(w.watch({d.file("health")}));
    d.write("health/a.json", "{}");
    CHECK(reports_change(w));

    CHECK_FALSE(w.watch({d.file("no/such/folder/file.json")}));
  }

  TEST_CASE("watching a new set drops folders no longer named") {
    TempDir d;
    fs::create_directories(d.file("old"));
    fs::create_directories(d.file("new"));
    InotifyWatch w;
    REQUIRE(w.watch({d.file("old")}));
    REQUIRE(w.watch({d.file("new")}));
    (void)w.changed();  // the dropped watch's own notice
    d.write("old/a.json", "{}");
    CHECK(stays_quiet(w));
    d.write("new/a.json", "{}");
    CHECK(reports_change(w));
  }
}
