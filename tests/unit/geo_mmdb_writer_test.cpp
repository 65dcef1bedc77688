// The .mmdb writer and the geodata CSV, checked the way the server will use
// the files: opened and looked up with libmaxminddb (and mmdblookup).
#include <doctest/doctest.h>
#include <maxminddb.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "geo/geo_csv.hpp"
#include "geo/geodata_build.hpp"
#include "geo/mmdb_network.hpp"
#include "geo/mmdb_writer.hpp"

using namespace meridian::geo;

namespace {

const std::string kSourceDir = MERIDIAN_SOURCE_DIR;

// A file in the temp folder, removed when the test is done with it.
class TempFile {
 public:
  explicit TempFile(const std::string& suffix) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("meridian-geo-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + suffix))
                .string();
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  void write(const std::string& bytes) const {
    std::ofstream(path_, std::ios::binary) << bytes;
  }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

IpNetwork net(const char* text) {
  std::string error;
  const std::optional<IpNetwork> parsed = parse_network(text, &error);
  REQUIRE_MESSAGE(parsed, text << ": " << error);
  return *parsed;
}

// libmaxminddb over a file, closed on scope exit.
class Database {
 public:
  explicit Database(const std::string& path) {
    const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db_);
    REQUIRE_MESSAGE(status == MMDB_SUCCESS, path << ": " << std::string(MMDB_strerror(status)));
  }
  ~Database() { MMDB_close(&db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  MMDB_s& raw() { return db_; }

  MMDB_lookup_result_s lookup(const std::string& ip) {
    int gai_error = 0;
    int mmdb_error = 0;
    MMDB_lookup_result_s result = MMDB_lookup_string(&db_, ip.c_str(), &gai_error, &mmdb_error);
    REQUIRE_MESSAGE(gai_error == 0, ip);
    REQUIRE_MESSAGE(mmdb_error == MMDB_SUCCESS, ip << ": " << std::string(MMDB_strerror(mmdb_error)));
    return result;
  }

 private:
  MMDB_s db_{};
};

// The entry at path ("country", "iso_code"), or has_data == false when absent.
MMDB_entry_data_s get(MMDB_lookup_result_s result, std::vector<const char*> path) {
  MMDB_entry_data_s data{};
  REQUIRE(result.found_entry);
  path.push_back(nullptr);
  const int status = MMDB_aget_value(&result.entry, &data, path.data());
  if (status != MMDB_SUCCESS) {
    REQUIRE(status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR);
    data.has_data = false;
  }
  return data;
}

std::optional<std::string> get_string(MMDB_lookup_result_s result, std::vector<const char*> path) {
  const MMDB_entry_data_s data = get(result, std::move(path));
  if (!data.has_data) return std::nullopt;
  REQUIRE(data.type == MMDB_DATA_TYPE_UTF8_STRING);
  return std::string(data.utf8_string, data.data_size);
}

std::optional<double> get_double(MMDB_lookup_result_s result, std::vector<const char*> path) {
  const MMDB_entry_data_s data = get(result, std::move(path));
  if (!data.has_data) return std::nullopt;
  REQUIRE(data.type == MMDB_DATA_TYPE_DOUBLE);
  return data.double_value;
}

std::optional<uint32_t> get_uint32(MMDB_lookup_result_s result, std::vector<const char*> path) {
  const MMDB_entry_data_s data = get(result, std::move(path));
  if (!data.has_data) return std::nullopt;
  REQUIRE(data.type == MMDB_DATA_TYPE_UINT32);
  return data.uint32;
}

// Options for test databases; the epoch must be non-zero for libmaxminddb.
MmdbOptions test_options() {
  MmdbOptions options;
  options.build_epoch = 1700000000;
  return options;
}

DataValue city_record(const std::string& country, const std::string& city) {
  return DataValue::map({
      {"country", DataValue::map({{"iso_code", DataValue::string(country)}})},
      {"city", DataValue::map({{"names", DataValue::map({{"en", DataValue::string(city)}})}})},
  });
}

std::string serialize(const MmdbWriter& writer) {
  std::string error;
  const std::optional<std::string> bytes = writer.serialize(&error);
  REQUIRE_MESSAGE(bytes, error);
  return *bytes;
}

// Netmask in tree bits for an IPv4 /n: libmaxminddb counts from the IPv6 root.
constexpr int ipv4_netmask(int prefix) { return 96 + prefix; }

std::size_t count_occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_SUITE("geo") {

TEST_CASE("mmdb network: parsing CIDRs") {
  CHECK(net("10.0.0.0/8").prefix_length == 104);
  CHECK(net("10.0.0.0/8").ipv4);
  CHECK(net("10.0.0.0/8").to_string() == "10.0.0.0/8");
  CHECK(net("2001:db8::/32").to_string() == "2001:db8::/32");
  CHECK(net("192.0.2.1").to_string() == "192.0.2.1/32");
  CHECK(net("::/0").prefix_length == 0);
  // IPv4-mapped input is IPv4 data.
  CHECK(net("::ffff:10.0.0.0/104") == net("10.0.0.0/8"));

  std::string error;
  CHECK_FALSE(parse_network("10.0.0.1/8", &error));
  CHECK(error == "host bits are set below the prefix (did you mean 10.0.0.0/8?)");
  CHECK_FALSE(parse_network("10.0.0.0/33", &error));
  CHECK(error == "prefix length '33' is not a number from 0 to 32");
  CHECK_FALSE(parse_network("10.0.0.0/", &error));
  CHECK_FALSE(parse_network("2001:db8::/129", &error));
  CHECK_FALSE(parse_network("10.0.0/8", &error));
  CHECK(error == "'10.0.0' is not an IPv4 or IPv6 address");
}

TEST_CASE("mmdb writer: every value type and the metadata read back with libmaxminddb") {
  MmdbOptions options;
  options.database_type = "Meridian-Test";
  options.languages = {"en", "de"};
  options.description = {{"en", "unit test"}, {"de", "Test"}};
  options.build_epoch = 1700000000;
  MmdbWriter writer(options);
  const std::string long_name(300, 'n');      // size needs one extra byte
  const std::string longer_name(70000, 'l');  // size needs three extra bytes
  const DataValue record = DataValue::map({
      {"city", DataValue::map({{"names", DataValue::map({{"en", DataValue::string("Dublin")},
                                                         {"ga", DataValue::string("Baile Átha Cliath")}})}})},
      {"location", DataValue::map({{"latitude", DataValue::float64(53.35)},
                                   {"longitude", DataValue::float64(-6.26)},
                                   {"accuracy_radius", DataValue::uint16(50)}})},
      {"subdivisions", DataValue::array({DataValue::map({{"iso_code", DataValue::string("L")}}),
                                         DataValue::map({{"iso_code", DataValue::string("D")}})})},
      {"traits", DataValue::map({{"is_anycast", DataValue::boolean(true)},
                                 {"is_satellite_provider", DataValue::boolean(false)}})},
      {"autonomous_system_number", DataValue::uint32(64500)},
      {"zero", DataValue::uint32(0)},
      {"big", DataValue::uint64(uint64_t{1} << 40)},
      {"long", DataValue::string(long_name)},
      {"longer", DataValue::string(longer_name)},
  });
  REQUIRE(writer.insert(net("198.51.100.0/24"), record) == MmdbWriter::InsertStatus::ok);
  REQUIRE(writer.insert(net("2001:db8:1::/48"), city_record("US", "Ashburn")) == MmdbWriter::InsertStatus::ok);
  TempFile file(".mmdb");
  file.write(serialize(writer));
  Database db(file.path());

  const MMDB_metadata_s& meta = db.raw().metadata;
  CHECK(meta.binary_format_major_version == 2);
  CHECK(meta.binary_format_minor_version == 0);
  CHECK(meta.build_epoch == 1700000000);
  CHECK(meta.ip_version == 6);
  CHECK(meta.record_size == 28);
  CHECK(std::string(meta.database_type) == "Meridian-Test");
  REQUIRE(meta.languages.count == 2);
  CHECK(std::string(meta.languages.names[0]) == "en");
  CHECK(std::string(meta.languages.names[1]) == "de");
  REQUIRE(meta.description.count == 2);
  CHECK(std::string(meta.description.descriptions[0]->language) == "de");  // map keys are sorted
  CHECK(std::string(meta.description.descriptions[0]->description) == "Test");
  CHECK(std::string(meta.description.descriptions[1]->description) == "unit test");

  for (const char* ip : {"198.51.100.7", "::ffff:198.51.100.7", "::198.51.100.7", "2002:c633:6407::1",
                         "2001:0:c633:6407::"}) {
    CAPTURE(ip);
    MMDB_lookup_result_s result = db.lookup(ip);
    REQUIRE(result.found_entry);
    CHECK(get_string(result, {"city", "names", "en"}) == "Dublin");
    CHECK(get_string(result, {"city", "names", "ga"}) == "Baile Átha Cliath");
    CHECK(get_double(result, {"location", "latitude"}) == 53.35);
    CHECK(get_double(result, {"location", "longitude"}) == -6.26);
    const MMDB_entry_data_s radius = get(result, {"location", "accuracy_radius"});
    CHECK(radius.type == MMDB_DATA_TYPE_UINT16);
    CHECK(radius.uint16 == 50);
    CHECK(get_string(result, {"subdivisions", "0", "iso_code"}) == "L");
    CHECK(get_string(result, {"subdivisions", "1", "iso_code"}) == "D");
    CHECK_FALSE(get_string(result, {"subdivisions", "2", "iso_code"}));
    const MMDB_entry_data_s anycast = get(result, {"traits", "is_anycast"});
    CHECK(anycast.type == MMDB_DATA_TYPE_BOOLEAN);
    CHECK(anycast.boolean);
    const MMDB_entry_data_s satellite = get(result, {"traits", "is_satellite_provider"});
    CHECK(satellite.type == MMDB_DATA_TYPE_BOOLEAN);
    CHECK_FALSE(satellite.boolean);
    CHECK(get_uint32(result, {"autonomous_system_number"}) == 64500u);
    CHECK(get_uint32(result, {"zero"}) == 0u);
    const MMDB_entry_data_s big = get(result, {"big"});
    CHECK(big.type == MMDB_DATA_TYPE_UINT64);
    CHECK(big.uint64 == (uint64_t{1} << 40));
    CHECK(get_string(result, {"long"}) == long_name);
    CHECK(get_string(result, {"longer"}) == longer_name);
    CHECK_FALSE(get_string(result, {"country", "iso_code"}));
  }

  // Netmask: IPv4 in tree bits; through an alias, counted from that alias's depth.
  CHECK(db.lookup("198.51.100.7").netmask == ipv4_netmask(24));
  CHECK(db.lookup("::ffff:198.51.100.7").netmask == ipv4_netmask(24));
  CHECK(db.lookup("2002:c633:6407::1").netmask == 16 + 24);
  CHECK(db.lookup("2001:0:c633:6407::").netmask == 32 + 24);

  MMDB_lookup_result_s v6 = db.lookup("2001:db8:1:2::3");
  REQUIRE(v6.found_entry);
  CHECK(v6.netmask == 48);
  CHECK(get_string(v6, {"country", "iso_code"}) == "US");
  CHECK(get_string(v6, {"city", "names", "en"}) == "Ashburn");

  for (const char* ip : {"198.51.101.1", "8.8.8.8", "::ffff:8.8.8.8", "2001:db8:2::1", "::1", "fe80::1"}) {
    CAPTURE(ip);
    CHECK_FALSE(db.lookup(ip).found_entry);
  }
  // Not found still tells how wide the empty network is: 198.51.101.0/24.
  CHECK(db.lookup("198.51.101.1").netmask == ipv4_netmask(24));
}

TEST_CASE("mmdb writer: 24-, 28- and 32-bit records") {
  for (const unsigned record_size : {24u, 28u, 32u}) {
    CAPTURE(record_size);
    MmdbOptions options = test_options();
    options.record_size = record_size;
    MmdbWriter writer(options);
    writer.insert(net("10.0.0.0/8"), city_record("GB", "London"));
    writer.insert(net("2001:db8::/32"), city_record("US", "Ashburn"));
    TempFile file(".mmdb");
    file.write(serialize(writer));
    Database db(file.path());
    CHECK(db.raw().metadata.record_size == record_size);
    MMDB_lookup_result_s v4 = db.lookup("10.1.2.3");
    CHECK(get_string(v4, {"country", "iso_code"}) == "GB");
    CHECK(v4.netmask == ipv4_netmask(8));
    MMDB_lookup_result_s v6 = db.lookup("2001:db8::1");
    CHECK(get_string(v6, {"country", "iso_code"}) == "US");
    CHECK(v6.netmask == 32);
  }
  MmdbOptions bad = test_options();
  bad.record_size = 20;
  std::string error;
  CHECK_FALSE(MmdbWriter(bad).serialize(&error));
  CHECK(error == "record size must be 24, 28 or 32, not 20");
  CHECK_FALSE(MmdbWriter(MmdbOptions{}).serialize(&error));
  CHECK(error == "the build epoch must be set (libmaxminddb rejects 0)");
}

TEST_CASE("mmdb writer: later inserts override earlier ones") {
  const DataValue a = city_record("GB", "London");
  const DataValue b = city_record("IE", "Dublin");
  const DataValue c = city_record("DE", "Berlin");

  SUBCASE("a more specific insert overrides part of a wider one") {
    MmdbWriter writer{test_options()};
    writer.insert(net("10.0.0.0/8"), a);
    writer.insert(net("10.1.0.0/16"), b);
    TempFile file(".mmdb");
    file.write(serialize(writer));
    Database db(file.path());
    MMDB_lookup_result_s inner = db.lookup("10.1.2.3");
    CHECK(get_string(inner, {"country", "iso_code"}) == "IE");
    CHECK(inner.netmask == ipv4_netmask(16));
    // The rest of the /8 keeps London, in the pieces the split left.
    MMDB_lookup_result_s sibling = db.lookup("10.0.0.1");
    CHECK(get_string(sibling, {"country", "iso_code"}) == "GB");
    CHECK(sibling.netmask == ipv4_netmask(16));
    CHECK(db.lookup("10.2.0.1").netmask == ipv4_netmask(15));
    MMDB_lookup_result_s far = db.lookup("10.200.0.1");
    CHECK(get_string(far, {"country", "iso_code"}) == "GB");
    CHECK(far.netmask == ipv4_netmask(9));
  }
  SUBCASE("a wider insert replaces everything inside it") {
    MmdbWriter writer{test_options()};
    writer.insert(net("10.1.0.0/16"), b);
    writer.insert(net("10.0.0.0/8"), c);
    TempFile file(".mmdb");
    file.write(serialize(writer));
    Database db(file.path());
    MMDB_lookup_result_s result = db.lookup("10.1.2.3");
    CHECK(get_string(result, {"country", "iso_code"}) == "DE");
    CHECK(result.netmask == ipv4_netmask(8));
  }
  SUBCASE("neighbours with equal data merge into the wider network") {
    MmdbWriter writer{test_options()};
    writer.insert(net("10.0.0.0/9"), a);
    writer.insert(net("10.128.0.0/10"), a);
    writer.insert(net("10.192.0.0/10"), city_record("GB", "London"));  // equal value, built apart
    TempFile file(".mmdb");
    file.write(serialize(writer));
    Database db(file.path());
    CHECK(db.lookup("10.200.0.1").netmask == ipv4_netmask(8));
    CHECK(db.lookup("10.0.0.1").netmask == ipv4_netmask(8));
  }
  SUBCASE("an IPv6 insert covering ::/96 reaches IPv4 addresses") {
    MmdbWriter writer{test_options()};
    writer.insert(net("::/0"), a);
    writer.insert(net("192.0.2.0/24"), b);
    TempFile file(".mmdb");
    file.write(serialize(writer));
    Database db(file.path());
    MMDB_lookup_result_s v4 = db.lookup("8.8.8.8");
    CHECK(get_string(v4, {"country", "iso_code"}) == "GB");
    CHECK(v4.netmask >= 96);  // the path to ::/96 is kept, so IPv4 netmasks stay IPv4-sized
    MMDB_lookup_result_s doc = db.lookup("::ffff:192.0.2.1");
    CHECK(get_string(doc, {"country", "iso_code"}) == "IE");
    CHECK(get_string(db.lookup("2a00::1"), {"country", "iso_code"}) == "GB");
  }
}

TEST_CASE("mmdb writer: IPv4 alias ranges") {
  MmdbWriter writer{test_options()};
  CHECK(writer.insert(net("2002:a00::/24"), city_record("US", "x")) == MmdbWriter::InsertStatus::inside_ipv4_alias);
  CHECK(writer.insert(net("2002::/16"), city_record("US", "x")) == MmdbWriter::InsertStatus::inside_ipv4_alias);
  CHECK(writer.insert(net("2001::/48"), city_record("US", "x")) == MmdbWriter::InsertStatus::inside_ipv4_alias);
  CHECK(writer.insert(net("::ffff:0:0/100"), city_record("US", "x")) == MmdbWriter::InsertStatus::ok);  // = 0.0.0.0/4
  // A wider IPv6 network around the aliases keeps them.
  CHECK(writer.insert(net("2000::/3"), city_record("JP", "Tokyo")) == MmdbWriter::InsertStatus::ok);
  CHECK(writer.insert(net("10.0.0.0/8"), city_record("GB", "London")) == MmdbWriter::InsertStatus::ok);
  TempFile file(".mmdb");
  file.write(serialize(writer));
  Database db(file.path());
  CHECK(get_string(db.lookup("2002:a01:203::"), {"country", "iso_code"}) == "GB");
  CHECK(get_string(db.lookup("2001:0:a01:203::"), {"country", "iso_code"}) == "GB");
  CHECK(get_string(db.lookup("2003::1"), {"country", "iso_code"}) == "JP");
  CHECK(get_string(db.lookup("2001:db8::1"), {"country", "iso_code"}) == "JP");
  CHECK(get_string(db.lookup("1.2.3.4"), {"country", "iso_code"}) == "US");

  MmdbOptions no_alias = test_options();
  no_alias.alias_ipv4 = false;
  MmdbWriter plain(no_alias);
  CHECK(plain.insert(net("2002::/16"), city_record("FR", "Paris")) == MmdbWriter::InsertStatus::ok);
  plain.insert(net("10.0.0.0/8"), city_record("GB", "London"));
  TempFile plain_file(".mmdb");
  plain_file.write(serialize(plain));
  Database plain_db(plain_file.path());
  CHECK(get_string(plain_db.lookup("2002:a01:203::"), {"country", "iso_code"}) == "FR");
  CHECK_FALSE(plain_db.lookup("::ffff:10.1.2.3").found_entry);
  CHECK(get_string(plain_db.lookup("10.1.2.3"), {"country", "iso_code"}) == "GB");
}

TEST_CASE("mmdb writer: data section shares repeated values, near and far") {
  MmdbWriter writer{test_options()};
  // Offsets past 2048 and past 526336 need the 3- and 4-byte pointer forms.
  const DataValue first = DataValue::map({
      {"a_blob", DataValue::string(std::string(3000, 'a'))},
      {"b_tag", DataValue::string("mid-shared-string")},
      {"c_blob", DataValue::string(std::string(600000, 'c'))},
      {"d_tag", DataValue::string("far-shared-string")},
  });
  const DataValue second = DataValue::map({
      {"b_tag", DataValue::string("mid-shared-string")},
      {"d_tag", DataValue::string("far-shared-string")},
      {"e_country", DataValue::map({{"iso_code", DataValue::string("IE")}})},
  });
  writer.insert(net("10.0.0.0/8"), first);
  writer.insert(net("11.0.0.0/8"), second);
  for (int i = 0; i < 64; ++i) {
    writer.insert(net(("172.16." + std::to_string(i * 2) + ".0/24").c_str()), second);
  }
  const std::string bytes = serialize(writer);
  CHECK(count_occurrences(bytes, "far-shared-string") == 1);
  CHECK(count_occurrences(bytes, "mid-shared-string") == 1);
  CHECK(count_occurrences(bytes, "iso_code") == 1);
  TempFile file(".mmdb");
  file.write(bytes);
  Database db(file.path());
  for (const char* ip : {"11.1.1.1", "172.16.62.1"}) {
    CAPTURE(ip);
    MMDB_lookup_result_s result = db.lookup(ip);
    CHECK(get_string(result, {"b_tag"}) == "mid-shared-string");
    CHECK(get_string(result, {"d_tag"}) == "far-shared-string");
    CHECK(get_string(result, {"e_country", "iso_code"}) == "IE");
  }
  CHECK_FALSE(db.lookup("172.16.1.1").found_entry);
  MMDB_lookup_result_s first_result = db.lookup("10.0.0.1");
  CHECK(get_string(first_result, {"c_blob"})->size() == 600000);
}

TEST_CASE("mmdb writer: the same input gives the same bytes") {
  auto build = [](uint64_t epoch) {
    MmdbOptions options;
    options.build_epoch = epoch;
    MmdbWriter writer(options);
    writer.insert(net("10.0.0.0/8"), city_record("GB", "London"));
    writer.insert(net("10.1.0.0/16"), city_record("IE", "Dublin"));
    writer.insert(net("2001:db8::/32"), city_record("US", "Ashburn"));
    return serialize(writer);
  };
  const std::string one = build(1700000000);
  CHECK(one == build(1700000000));
  const std::string other_epoch = build(1700000001);
  CHECK(one != other_epoch);
  CHECK(one.size() == other_epoch.size());
}

TEST_CASE("geodata csv: records, header, comments, quotes and empty fields") {
  const std::string text =
      "\xEF\xBB\xBF# a comment\n"
      "Network, Continent,country,subdivision,city,latitude,longitude,asn\r\n"
      "\n"
      "   # indented comment\n"
      "127.1.0.0/16,EU,IE,L,Dublin,53.35,-6.26,AS64497\r\n"
      "192.0.2.0/24, na , us , US-VA ,\"Washington, \"\"D.C.\"\"\",38.9,-77.04,\n"
      "2001:db8::/32,,,,,,,\n";
  const GeoCsv csv = parse_geo_csv(text, "t.csv");
  REQUIRE(csv.errors.empty());
  REQUIRE(csv.rows.size() == 3);

  const GeoCsvRow& dublin = csv.rows[0];
  CHECK(dublin.line == 5);
  CHECK(dublin.network.to_string() == "127.1.0.0/16");
  const DataValue& r = dublin.record;
  CHECK(r.keys() == std::vector<std::string>{"autonomous_system_number", "city", "continent", "country", "location",
                                             "subdivisions"});
  CHECK(r.find("continent")->find("code")->text() == "EU");
  CHECK(r.find("continent")->find("names")->find("en")->text() == "Europe");
  CHECK(r.find("country")->find("iso_code")->text() == "IE");
  CHECK(r.find("country")->find("names")->find("en")->text() == "Ireland");
  CHECK(r.find("subdivisions")->items().at(0).find("iso_code")->text() == "L");
  CHECK(r.find("city")->find("names")->find("en")->text() == "Dublin");
  CHECK(r.find("location")->find("latitude")->number() == 53.35);
  CHECK(r.find("location")->find("longitude")->number() == -6.26);
  CHECK(r.find("autonomous_system_number")->type() == DataValue::Type::uint32);
  CHECK(r.find("autonomous_system_number")->unsigned_number() == 64497);

  const DataValue& dc = csv.rows[1].record;
  CHECK(dc.find("continent")->find("code")->text() == "NA");
  CHECK(dc.find("country")->find("iso_code")->text() == "US");
  CHECK(dc.find("subdivisions")->items().at(0).find("iso_code")->text() == "VA");
  CHECK(dc.find("city")->find("names")->find("en")->text() == "Washington, \"D.C.\"");
  CHECK(dc.find("autonomous_system_number") == nullptr);

  // Only a network: found, but with an empty record.
  CHECK(csv.rows[2].record.type() == DataValue::Type::map);
  CHECK(csv.rows[2].record.keys().empty());

  // Seven columns (no asn) are fine too; an unknown country has no names.
  const GeoCsv seven = parse_geo_csv(
      "network,continent,country,subdivision,city,latitude,longitude\n10.0.0.0/8,EU,XK,,,,\n", "s.csv");
  REQUIRE(seven.errors.empty());
  REQUIRE(seven.rows.size() == 1);
  CHECK(seven.rows[0].record.find("country")->find("iso_code")->text() == "XK");
  CHECK(seven.rows[0].record.find("country")->find("names") == nullptr);
}

TEST_CASE("geodata csv: every error, with file:line:column") {
  const std::string text =
      "network,continent,country,subdivision,city,latitude,longitude,asn\n"
      "10.0.0.1/8,EU,GB,ENG,London,51.5,-0.1,\n"             // 2: host bits
      "10.0.0.0/8,EU,GB,ENG,London,51.5\n"                   // 3: too few fields
      "10.0.0.0/8,EU,GB,ENG,London,51.5,-0.1,1,extra\n"      // 4: too many
      "192.0.2.0/24,XX,USA,VA-1234,Ashburn,north,-77.5,x1\n"  // 5: four field errors (+ asn)
      "192.0.2.0/25,NA,US,,,95,,\n"                            // 6: latitude out of range, lone latitude
      "198.51.100.0/24,EU,IE,,\"Dublin,53.3,-6.2,\n"          // 7: unterminated quote
      "2002:c000:200::/40,NA,US,,,,,\n"                        // 8: inside an alias range
      "198.51.100.0/24,EU,IE,,Dublin,53.3,-6.2,\n"
      "198.51.100.0/24,EU,IE,,Dublin,53.3,-6.2,\n"             // 10: duplicate
      "203.0.113.0/24,AS,SG,IE-D,Singapore,1.3,103.8,\n"       // 11: subdivision of another country
      "2001:db8::/129,NA,US,,,,,99999999999\n";               // 12: bad prefix, asn too large
  const GeoCsv csv = parse_geo_csv(text, "geo.csv");
  const std::vector<std::string> expected = {
      "geo.csv:2:1: bad network '10.0.0.1/8': host bits are set below the prefix (did you mean 10.0.0.0/8?)",
      "geo.csv:3:33: expected 8 fields, found 6",
      "geo.csv:4:41: expected 8 fields, found 9",
      "geo.csv:5:14: unknown continent code 'XX' (use AF, AN, AS, EU, NA, OC or SA)",
      "geo.csv:5:17: bad country code 'USA' (want ISO 3166-1 alpha-2, such as US)",
      "geo.csv:5:21: subdivision 'VA-1234' does not belong to country 'USA'",
      "geo.csv:5:37: bad number 'north' for latitude",
      "geo.csv:5:49: bad number 'x1' for asn (want 0 to 4294967295, optionally after AS)",
      "geo.csv:6:22: latitude 95 is out of range (-90 to 90)",
      "geo.csv:6:25: give both latitude and longitude, or neither",
      "geo.csv:7:24: unterminated quoted field",
      "geo.csv:8:1: network 2002:c000:200::/40 is inside an IPv6 range that maps to IPv4 (::ffff:0:0/96, "
      "2001::/32 or 2002::/16); write the IPv4 network instead",
      "geo.csv:10:1: duplicate network 198.51.100.0/24 (first on line 9)",
      "geo.csv:11:22: subdivision 'IE-D' does not belong to country 'SG'",
      "geo.csv:12:1: bad network '2001:db8::/129': prefix length '129' is not a number from 0 to 128",
      "geo.csv:12:26: bad number '99999999999' for asn (want 0 to 4294967295, optionally after AS)",
  };
  CHECK(csv.errors == expected);
  REQUIRE(csv.rows.size() == 1);
  CHECK(csv.rows[0].line == 9);
}

TEST_CASE("geodata csv: header problems") {
  CHECK(parse_geo_csv("", "e.csv").errors ==
        std::vector<std::string>{
            "e.csv:1:1: missing header row (network,continent,country,subdivision,city,latitude,longitude[,asn])"});
  CHECK(parse_geo_csv("# only a comment\nnetwork,continent,cc,subdivision,city,latitude,longitude\n10.0.0.0/8,,,,,,\n",
                      "h.csv")
            .errors == std::vector<std::string>{"h.csv:2:19: expected column 'country', found 'cc' (the header is "
                                                "network,continent,country,subdivision,city,latitude,longitude[,asn])"});
  CHECK(parse_geo_csv("network,continent,country,subdivision,city\n", "s.csv").errors ==
        std::vector<std::string>{"s.csv:1:43: the header has 5 columns; it is "
                                 "network,continent,country,subdivision,city,latitude,longitude[,asn]"});
  const GeoCsv missing = load_geo_csv("/nonexistent/geo.csv");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0] == "/nonexistent/geo.csv: cannot read: No such file or directory");
}

TEST_CASE("geodata build: rows apply widest first, errors fail the build") {
  TempFile csv(".csv");
  // The /16 comes first in the file but still wins over the /8 after it.
  csv.write(
      "network,continent,country,subdivision,city,latitude,longitude\n"
      "10.1.0.0/16,EU,IE,L,Dublin,53.35,-6.26\n"
      "10.0.0.0/8,EU,GB,ENG,London,51.51,-0.13\n");
  TempFile out(".mmdb");
  std::ostringstream err;
  REQUIRE(run_geodata_build(csv.path(), out.path(), 1700000000, err) == 0);
  CHECK(err.str().empty());
  Database db(out.path());
  CHECK(db.raw().metadata.build_epoch == 1700000000);
  CHECK(std::string(db.raw().metadata.database_type) == "Meridian-City");
  MMDB_lookup_result_s dublin = db.lookup("10.1.0.1");
  CHECK(get_string(dublin, {"country", "iso_code"}) == "IE");
  MMDB_lookup_result_s london = db.lookup("10.2.0.1");
  CHECK(get_string(london, {"country", "iso_code"}) == "GB");

  TempFile bad(".csv");
  bad.write("network,continent,country,subdivision,city,latitude,longitude\n10.0.0.1/8,EU,,,,,\n10.0.0.0/8,ZZ,,,,,\n");
  std::ostringstream bad_err;
  TempFile untouched(".mmdb");
  CHECK(run_geodata_build(bad.path(), untouched.path(), 1, bad_err) == 1);
  CHECK(bad_err.str() ==
        bad.path() + ":2:1: bad network '10.0.0.1/8': host bits are set below the prefix (did you mean 10.0.0.0/8?)\n" +
            bad.path() + ":3:12: unknown continent code 'ZZ' (use AF, AN, AS, EU, NA, OC or SA)\n");
  CHECK_FALSE(std::filesystem::exists(untouched.path()));

  TempFile empty(".csv");
  empty.write("network,continent,country,subdivision,city,latitude,longitude\n");
  std::ostringstream empty_err;
  CHECK(run_geodata_build(empty.path(), untouched.path(), 1, empty_err) == 1);
  CHECK(empty_err.str() == empty.path() + ": no networks\n");
}

TEST_CASE("geodata build: default epoch from SOURCE_DATE_EPOCH") {
  const char* saved = std::getenv("SOURCE_DATE_EPOCH");
  const std::optional<std::string> restore = saved ? std::optional<std::string>(saved) : std::nullopt;
  std::string error;
  unsetenv("SOURCE_DATE_EPOCH");
  CHECK(default_build_epoch(&error) == kDefaultGeodataEpoch);
  setenv("SOURCE_DATE_EPOCH", "1234567890", 1);
  CHECK(default_build_epoch(&error) == 1234567890u);
  setenv("SOURCE_DATE_EPOCH", "yesterday", 1);
  CHECK_FALSE(default_build_epoch(&error));
  CHECK(error == "SOURCE_DATE_EPOCH='yesterday' is not a number of seconds");
  if (restore) {
    setenv("SOURCE_DATE_EPOCH", restore->c_str(), 1);
  } else {
    unsetenv("SOURCE_DATE_EPOCH");
  }
}

TEST_CASE("geodata demo: the committed demo-city.mmdb is a fresh build of demo-city.csv") {
  std::ostringstream err;
  const std::optional<std::string> fresh =
      build_geodata(kSourceDir + "/geodata/demo-city.csv", kDefaultGeodataEpoch, err);
  REQUIRE_MESSAGE(fresh, err.str());
  const std::string committed = read_file(kSourceDir + "/geodata/demo-city.mmdb");
  CHECK_MESSAGE(committed == *fresh, "rebuild it with tools/build-demo-geodata.sh");

  // Built twice, byte for byte the same.
  std::ostringstream err2;
  CHECK(build_geodata(kSourceDir + "/geodata/demo-city.csv", kDefaultGeodataEpoch, err2) == fresh);
}

namespace {

struct DemoExpectation {
  const char* ip;
  int netmask;
  const char* continent;
  const char* country;
  const char* subdivision;  // "" when absent
  const char* city;
  double latitude, longitude;
  uint32_t asn;
};

// What demo-city.csv promises (geodata/README.md lists the same table).
const DemoExpectation kDemo[] = {
    {"127.0.0.1", ipv4_netmask(16), "NA", "US", "VA", "Ashburn", 39.04, -77.49, 64496},
    {"::ffff:127.0.0.1", ipv4_netmask(16), "NA", "US", "VA", "Ashburn", 39.04, -77.49, 64496},
    {"127.1.0.1", ipv4_netmask(16), "EU", "IE", "L", "Dublin", 53.35, -6.26, 64497},
    {"::ffff:127.1.255.255", ipv4_netmask(16), "EU", "IE", "L", "Dublin", 53.35, -6.26, 64497},
    {"127.2.3.4", ipv4_netmask(16), "AS", "IN", "MH", "Mumbai", 19.08, 72.88, 64498},
    {"127.3.0.1", ipv4_netmask(16), "EU", "DE", "HE", "Frankfurt am Main", 50.11, 8.68, 64499},
    {"127.4.0.1", ipv4_netmask(16), "OC", "AU", "NSW", "Sydney", -33.87, 151.21, 64500},
    {"127.5.0.1", ipv4_netmask(16), "SA", "BR", "SP", "São Paulo", -23.55, -46.63, 64501},
    {"10.20.30.40", ipv4_netmask(8), "EU", "GB", "ENG", "London", 51.51, -0.13, 64502},
    {"::ffff:10.0.0.1", ipv4_netmask(8), "EU", "GB", "ENG", "London", 51.51, -0.13, 64502},
    {"192.0.2.1", ipv4_netmask(24), "NA", "US", "VA", "Ashburn", 39.04, -77.49, 64496},
    {"198.51.100.1", ipv4_netmask(24), "EU", "IE", "L", "Dublin", 53.35, -6.26, 64497},
    {"203.0.113.1", ipv4_netmask(24), "AS", "SG", "", "Singapore", 1.29, 103.85, 64503},
    {"2001:db8::1", 48, "EU", "IE", "L", "Dublin", 53.35, -6.26, 64497},
    {"2001:db8:1::1", 48, "NA", "US", "VA", "Ashburn", 39.04, -77.49, 64496},
    {"2001:db8:2::1", 48, "AS", "IN", "MH", "Mumbai", 19.08, 72.88, 64498},
    {"2001:db8:3::1", 48, "NA", "US", "VA", "Ashburn", 39.04, -77.49, 64496},
    {"2001:db8:ffff::1", 33, "NA", "US", "VA", "Ashburn", 39.04, -77.49, 64496},
};
const char* const kDemoNotFound[] = {"127.6.0.1", "127.255.255.254", "8.8.8.8", "192.0.3.1", "::1", "2001:db9::1"};

}  // namespace

TEST_CASE("geodata demo: every demo network looks up as documented") {
  Database db(kSourceDir + "/geodata/demo-city.mmdb");
  CHECK(db.raw().metadata.build_epoch == kDefaultGeodataEpoch);
  CHECK(std::string(db.raw().metadata.description.descriptions[0]->description) ==
        "meridian geodata built from demo-city.csv");
  for (const DemoExpectation& e : kDemo) {
    CAPTURE(e.ip);
    MMDB_lookup_result_s result = db.lookup(e.ip);
    REQUIRE(result.found_entry);
    CHECK(result.netmask == e.netmask);
    CHECK(get_string(result, {"continent", "code"}) == e.continent);
    CHECK(get_string(result, {"country", "iso_code"}) == e.country);
    const std::optional<std::string> subdivision = get_string(result, {"subdivisions", "0", "iso_code"});
    CHECK(subdivision.value_or("") == e.subdivision);
    CHECK(get_string(result, {"city", "names", "en"}) == e.city);
    CHECK(get_double(result, {"location", "latitude"}) == e.latitude);
    CHECK(get_double(result, {"location", "longitude"}) == e.longitude);
    CHECK(get_uint32(result, {"autonomous_system_number"}) == e.asn);
  }
  MMDB_lookup_result_s ireland = db.lookup("198.51.100.1");
  CHECK(get_string(ireland, {"continent", "names", "en"}) == "Europe");
  CHECK(get_string(ireland, {"country", "names", "en"}) == "Ireland");
  for (const char* ip : kDemoNotFound) {
    CAPTURE(ip);
    CHECK_FALSE(db.lookup(ip).found_entry);
  }
}

namespace {

// mmdblookup's first output line for ip and path (e.g. `"US" <utf8_string>`),
// or "exit N" when it fails (6: not found).
std::string mmdblookup(const std::string& file, const std::string& ip, const std::string& path) {
  const std::string command = "mmdblookup --file '" + file + "' --ip '" + ip + "' " + path + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = pclose(pipe);
  if (status != 0) return "exit " + std::to_string(WEXITSTATUS(status));
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos) return line.substr(start);
  }
  return "";
}

}  // namespace

TEST_CASE("geodata demo: mmdblookup prints the same values") {
  if (std::system("command -v mmdblookup >/dev/null 2>&1") != 0) {
    MESSAGE("mmdblookup is not on PATH (Debian package mmdb-bin); skipping");
    return;
  }
  const std::string file = kSourceDir + "/geodata/demo-city.mmdb";
  for (const DemoExpectation& e : kDemo) {
    CAPTURE(e.ip);
    CHECK(mmdblookup(file, e.ip, "continent code") == "\"" + std::string(e.continent) + "\" <utf8_string>");
    CHECK(mmdblookup(file, e.ip, "country iso_code") == "\"" + std::string(e.country) + "\" <utf8_string>");
    CHECK(mmdblookup(file, e.ip, "city names en") == "\"" + std::string(e.city) + "\" <utf8_string>");
    char latitude[64];
    std::snprintf(latitude, sizeof latitude, "%f <double>", e.latitude);
    CHECK(mmdblookup(file, e.ip, "location latitude") == latitude);
    char longitude[64];
    std::snprintf(longitude, sizeof longitude, "%f <double>", e.longitude);
    CHECK(mmdblookup(file, e.ip, "location longitude") == longitude);
    CHECK(mmdblookup(file, e.ip, "autonomous_system_number") == std::to_string(e.asn) + " <uint32>");
  }
  for (const char* ip : kDemoNotFound) {
    CAPTURE(ip);
    CHECK(mmdblookup(file, ip, "") == "exit 6");
  }
}

}  // TEST_SUITE("geo")
