#include "integration/harness/dig.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>

namespace meridian::test {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// "owner ttl class type rdata..." -> DigRecord; false for other lines.
bool parse_record(const std::string& line, DigRecord& r) {
  std::size_t pos = 0;
  std::string fields[4];
  for (auto& f : fields) {
    pos = line.find_first_not_of(" \t", pos);
    if (pos == std::string::npos) return false;
    const auto end = line.find_first_of(" \t", pos);
    f = line.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? line.size() : end;
  }
  if (fields[1].empty() || !std::all_of(fields[1].begin(), fields[1].end(), ::isdigit)) return false;
  r.owner = fields[0];
  r.ttl = static_cast<uint32_t>(std::stoul(fields[1]));
  r.klass = fields[2];
  r.type = fields[3];
  r.rdata = trim(line.substr(pos));
  return true;
}

DigResult run_tool(const std::string& tool, const Endpoint& server, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {tool, "@" + server.host, "-p", std::to_string(server.port)};
  if (tool == "dig") {
    argv.push_back("+time=10");
    argv.push_back("+tries=2");
  } else {
    argv.push_back("+timeout=10");
    argv.push_back("+retry=1");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = run_command(argv, std::chrono::seconds(90));
  DigResult d = parse_dig_output(r.out);
  d.exit_code = r.exit_code;
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  d.output = cmd + "\n" + r.out + r.err;
  return d;
}

}  // namespace

std::string DigRecord::owner_lower() const { return lower(owner); }
std::string DigRecord::key() const { return owner_lower() + " " + type + " " + rdata; }

std::vector<std::string> DigResult::keys(const std::vector<DigRecord>& section, const std::string& type) {
  std::vector<std::string> out;
  for (const auto& r : section)
    if (type.empty() || r.type == type) out.push_back(r.key());
  std::sort(out.begin(), out.end());
  return out;
}

DigResult parse_dig_output(const std::string& text) {
  DigResult d;
  static const std::regex status_re(R"(status: ([A-Z0-9]+))");
  static const std::regex flags_re(R"(;; [Ff]lags: ([a-z ]*);)");
  static const std::regex dig_edns_re(R"(; EDNS: version: (\d+), flags:([a-z ]*); udp: (\d+))");
  static const std::regex kdig_edns_re(R"(;; Version: (\d+); flags: ?([a-z ]*); UDP size: (\d+) B)");
  std::istringstream in(text);
  std::string line;
  std::vector<DigRecord>* section = nullptr;
  bool in_question = false;
  auto set_flags = [](std::set<std::string>& out, const std::string& list) {
    std::istringstream fs(list);
    std::string f;
    while (fs >> f) out.insert(f);
  };
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.find("->>HEADER<<-") != std::string::npos && std::regex_search(line, m, status_re)) {
      d.ok = true;
      d.status = m[1].str();
      continue;
    }
    if (std::regex_search(line, m, flags_re)) {
      set_flags(d.flags, m[1].str());
      continue;
    }
    if (std::regex_search(line, m, dig_edns_re) || std::regex_search(line, m, kdig_edns_re)) {
      d.has_opt = true;
      d.edns_version = std::stoi(m[1].str());
      set_flags(d.edns_flags, m[2].str());
      d.udp_size = std::stoi(m[3].str());
      continue;
    }
    if (line.find("NSID:") != std::string::npos && line[0] == ';') {
      d.nsid = trim(line.substr(line.find("NSID:") + 5));
      continue;
    }
    if (line.find("QUESTION SECTION:") != std::string::npos) {
      in_question = true;
      section = nullptr;
      continue;
    }
    if (line.find("ANSWER SECTION:") != std::string::npos) {
      in_question = false;
      section = &d.answer;
      continue;
    }
    if (line.find("AUTHORITY SECTION:") != std::string::npos) {
      in_question = false;
      section = &d.authority;
      continue;
    }
    if (line.find("ADDITIONAL SECTION:") != std::string::npos) {
      in_question = false;
      section = &d.additional;
      continue;
    }
    if (trim(line).empty()) {
      in_question = false;
      section = nullptr;
      continue;
    }
    if (in_question) {
      std::string q = line;
      while (!q.empty() && (q[0] == ';' || q[0] == ' ')) q.erase(0, 1);
      d.question = trim(q);
      continue;
    }
    if (section && line[0] != ';') {
      DigRecord r;
      if (parse_record(line, r)) section->push_back(r);
    }
  }
  return d;
}

DigResult dig(const Endpoint& server, const std::vector<std::string>& args) { return run_tool("dig", server, args); }
DigResult kdig(const Endpoint& server, const std::vector<std::string>& args) {
  return run_tool("kdig", server, args);
}

}  // namespace meridian::test
