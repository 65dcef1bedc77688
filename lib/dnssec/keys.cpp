#include "dnssec/keys.hpp"

#include <ldns/ldns.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dns/name.hpp"

namespace meridian::dnssec {

namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct RrDeleter {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct RdfDeleter {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct BufferDeleter {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
using RrPtr = std::unique_ptr<ldns_rr, RrDeleter>;

std::string zone_text(std::string_view origin_wire) { return dns::name_to_text(origin_wire); }

// "Kexample.com.+013+12345" for the root: "K.+013+12345".
// "K<zone>", built by appending: `"K" + std::string&&` trips GCC 12's -Wrestrict false
// positive (bug 105329) in optimised builds.
std::string key_prefix(std::string_view origin_wire) {
  std::string prefix = "K";
  prefix += zone_text(origin_wire);
  return prefix;
}

std::string key_base_name(std::string_view origin_wire, uint8_t algorithm, uint16_t tag) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "+%03u+%05u", static_cast<unsigned>(algorithm), static_cast<unsigned>(tag));
  return key_prefix(origin_wire) + suffix;
}

std::string rdata_wire(const ldns_rr* rr) {
  std::unique_ptr<ldns_buffer, BufferDeleter> buffer(ldns_buffer_new(512));
  if (ldns_rr_rdata2buffer_wire(buffer.get(), rr) != LDNS_STATUS_OK) return {};
  return {reinterpret_cast<const char*>(ldns_buffer_begin(buffer.get())), ldns_buffer_position(buffer.get())};
}

// The DNSKEY of a .key file (comment lines skipped).
RrPtr read_dnskey(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = path + ": cannot open";
    return nullptr;
  }
  std::string line, record;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == ';') continue;
    record += line + ' ';
  }
  ldns_rr* rr = nullptr;
  if (ldns_rr_new_frm_str(&rr, record.c_str(), 3600, nullptr, nullptr) != LDNS_STATUS_OK || !rr ||
      ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY) {
    if (rr) ldns_rr_free(rr);
    error = path + ": not a DNSKEY record";
    return nullptr;
  }
  return RrPtr(rr);
}

}  // namespace

void KeyDeleter::operator()(ldns_struct_key* key) const { ldns_key_deep_free(key); }

std::optional<uint8_t> algorithm_from_name(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "ECDSAP256SHA256" || upper == "13") return kEcdsaP256Sha256;
  if (upper == "ED25519" || upper == "15") return kEd25519;
  return std::nullopt;
}

const char* algorithm_name(uint8_t algorithm) {
  return algorithm == kEcdsaP256Sha256 ? "ECDSAP256SHA256" : algorithm == kEd25519 ? "ED25519" : "unknown";
}

bool KeySet::has_zsk() const {
  return std::any_of(keys.begin(), keys.end(), [](const SigningKey& k) { return !k.ksk(); });
}

bool KeySet::signs(std::size_t i, uint16_t type) const {
  const bool zsk_present = has_zsk();
  if (!zsk_present) return true;  // CSKs
  return type == LDNS_RR_TYPE_DNSKEY ? keys[i].ksk() : !keys[i].ksk();
}

std::shared_ptr<KeySet> read_keys(const std::string& folder, std::string_view origin_wire, uint8_t algorithm,
                                  std::string& error) {
  auto set = std::make_shared<KeySet>();
  set->origin = dns::fold_wire_name(origin_wire);
  const std::string prefix = key_prefix(set->origin) + "+";
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > prefix.size() + 4 && name.compare(0, prefix.size(), prefix) == 0 &&
        name.compare(name.size() - 4, 4, ".key") == 0)
      files.push_back(entry.path());
  }
  if (ec) {
    error = folder + ": cannot read the key folder (" + ec.message() + ")";
    return nullptr;
  }
  std::sort(files.begin(), files.end());
  std::unique_ptr<ldns_rdf, RdfDeleter> owner(
      ldns_dname_new_frm_data(static_cast<uint16_t>(set->origin.size()), set->origin.data()));
  for (const auto& path : files) {
    RrPtr dnskey = read_dnskey(path.string(), error);
    if (!dnskey) return nullptr;
    if (ldns_dname_compare(ldns_rr_owner(dnskey.get()), owner.get()) != 0) {
      error = path.string() + ": the key is not for zone " + zone_text(set->origin);
      return nullptr;
    }
    const auto key_algorithm = static_cast<uint8_t>(ldns_rdf2native_int8(ldns_rr_dnskey_algorithm(dnskey.get())));
    if (key_algorithm != algorithm) continue;
    std::string private_path = path.string();
    private_path.replace(private_path.size() - 4, 4, ".private");
    struct stat st {};
    if (::stat(private_path.c_str(), &st) != 0) {
      error = private_path + ": missing (the private key of " + path.filename().string() + ")";
      return nullptr;
    }
    if (st.st_mode & S_IROTH) {
      error = private_path + ": readable by everyone; a private key must not be (chmod 600)";
      return nullptr;
    }
    std::unique_ptr<FILE, FileCloser> fp(std::fopen(private_path.c_str(), "r"));
    ldns_key* key = nullptr;
    if (!fp || ldns_key_new_frm_fp(&key, fp.get()) != LDNS_STATUS_OK || !key) {
      error = private_path + ": not a private key file ldns can read";  // its content is never repeated
      return nullptr;
    }
    SigningKey k;
    k.key.reset(key);
    k.file = path.string();
    k.algorithm = key_algorithm;
    k.flags = ldns_rdf2native_int16(ldns_rr_dnskey_flags(dnskey.get()));
    k.tag = ldns_calc_keytag(dnskey.get());
    k.dnskey_rdata = rdata_wire(dnskey.get());
    if (static_cast<uint8_t>(ldns_key_algorithm(key)) != key_algorithm || !(k.flags & kZoneKeyFlag)) {
      error = path.string() + ": the private key's algorithm or the DNSKEY's flags do not fit a zone signing key";
      return nullptr;
    }
    // The public half the private key derives must be the .key's.
    ldns_key_set_flags(key, k.flags);
    std::unique_ptr<ldns_rr, RrDeleter> derived(ldns_key2rr(key));
    if (!derived || rdata_wire(derived.get()) != k.dnskey_rdata) {
      error = private_path + ": does not match " + path.filename().string();
      return nullptr;
    }
    ldns_key_set_keytag(key, k.tag);
    ldns_key_set_pubkey_owner(key, ldns_rdf_clone(owner.get()));
    ldns_key_set_use(key, true);
    set->keys.push_back(std::move(k));
  }
  if (set->keys.empty()) {
    error = folder + ": no " + std::string(algorithm_name(algorithm)) + " key for zone " + zone_text(set->origin) +
            " (K" + zone_text(set->origin) + "+" + (algorithm < 100 ? "0" : "") + std::to_string(algorithm) +
            "+*.key; `meridian dnssec keygen` makes one)";
    return nullptr;
  }
  const bool any_sep = std::any_of(set->keys.begin(), set->keys.end(), [](const SigningKey& k) { return k.ksk(); });
  if (!any_sep) {
    error = folder + ": no key signs the DNSKEY RRset (a KSK or CSK has flags 257)";
    return nullptr;
  }
  return set;
}

std::string generate_key(const std::string& folder, std::string_view origin_wire, uint8_t algorithm, bool ksk,
                         std::string& error) {
  const std::string origin = dns::fold_wire_name(origin_wire);
  std::unique_ptr<ldns_struct_key, KeyDeleter> key(
      ldns_key_new_frm_algorithm(static_cast<ldns_signing_algorithm>(algorithm), algorithm == kEd25519 ? 256 : 256));
  if (!key) {
    error = "cannot make a key of algorithm " + std::to_string(algorithm);
    return {};
  }
  ldns_key_set_flags(key.get(), static_cast<uint16_t>(kZoneKeyFlag | (ksk ? kSepFlag : 0)));
  ldns_key_set_pubkey_owner(key.get(), ldns_dname_new_frm_data(static_cast<uint16_t>(origin.size()), origin.data()));
  std::unique_ptr<ldns_rr, RrDeleter> dnskey(ldns_key2rr(key.get()));
  ldns_rr_set_ttl(dnskey.get(), 3600);
  const uint16_t tag = ldns_calc_keytag(dnskey.get());
  const std::string base = (std::filesystem::path(folder) / key_base_name(origin, algorithm, tag)).string();
  {
    char* text = ldns_rr2str(dnskey.get());
    std::ofstream out(base + ".key");
    out << "; This is a " << (ksk ? "key-signing" : "zone-signing") << " key, keyid " << tag << ", for "
        << zone_text(origin) << "\n" << text;
    std::free(text);
    if (!out.flush()) {
      error = base + ".key: cannot write";
      return {};
    }
  }
  const mode_t old_mask = ::umask(077);
  FILE* fp = std::fopen((base + ".private").c_str(), "w");
  ::umask(old_mask);
  if (!fp) {
    error = base + ".private: cannot write";
    return {};
  }
  ldns_key_print(fp, key.get());
  if (std::fclose(fp) != 0) {
    error = base + ".private: cannot write";
    return {};
  }
  return base;
}

std::vector<std::string> ds_records(const KeySet& keys, uint32_t ttl) {
  std::vector<std::string> out;
  std::unique_ptr<ldns_rdf, RdfDeleter> owner(
      ldns_dname_new_frm_data(static_cast<uint16_t>(keys.origin.size()), keys.origin.data()));
  for (const SigningKey& k : keys.keys) {
    if (!k.ksk()) continue;
    std::unique_ptr<ldns_rr, RrDeleter> dnskey(ldns_rr_new());
    ldns_rr_set_type(dnskey.get(), LDNS_RR_TYPE_DNSKEY);
    ldns_rr_set_class(dnskey.get(), LDNS_RR_CLASS_IN);
    ldns_rr_set_owner(dnskey.get(), ldns_rdf_clone(owner.get()));
    ldns_rr_set_ttl(dnskey.get(), ttl);
    std::size_t pos = 0;
    const auto* rdata = reinterpret_cast<const uint8_t*>(k.dnskey_rdata.data());
    // Rebuilt from the wire form: flags, protocol, algorithm, key.
    ldns_rr_push_rdf(dnskey.get(), ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, k.flags));
    ldns_rr_push_rdf(dnskey.get(), ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, rdata[2]));
    ldns_rr_push_rdf(dnskey.get(), ldns_native2rdf_int8(LDNS_RDF_TYPE_ALG, rdata[3]));
    pos = 4;
    ldns_rr_push_rdf(dnskey.get(), ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, k.dnskey_rdata.size() - pos, rdata + pos));
    std::unique_ptr<ldns_rr, RrDeleter> ds(ldns_key_rr2ds(dnskey.get(), LDNS_SHA256));
    if (!ds) continue;
    char* text = ldns_rr2str(ds.get());
    std::string line(text);
    std::free(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace meridian::dnssec
