// The provider directory routing offers referrals from: deploy/directory/providers.json, an
// Open Referral UK / HSDS 3.1 publication (flat JSON: top-level arrays of organizations,
// services, service_areas, schedules, ...) whose services carry a documented `routing`
// extension (docs/directory.md): the need domains and crime categories each service takes,
// whether it takes only enhanced victims or needs explicit consent, its acceptance target and
// its maximum of active referrals, and which one service is the fallback (the Hub's own
// Victim Care team).
//
// Parse() checks the whole file and refuses it with every problem named by record and field:
//   services[3] (isva-cambs).routing.needs[1]: unknown need domain 'sexual_violense'
//   service_areas[7] (id 0b6c...).service_id: no service has id '...'
// In routing's vocabulary a provider is one service: one referral goes to one service.
//
// A Directory is immutable once parsed, so it can be shared between threads without locks.
// DirectorySource holds the one in force, swaps in a new one on Reload() and hands out
// shared pointers, so a routing decision in progress keeps the directory it started with; a
// file that does not check is refused and the directory in force stays.
#ifndef HUB_SERVICES_ROUTING_DIRECTORY_DIRECTORY_H_
#define HUB_SERVICES_ROUTING_DIRECTORY_DIRECTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "services/common/offences/offences.h"

namespace hub::routing {

// HSDS service.status.
enum class ServiceStatus { kActive, kInactive, kDefunct, kTemporarilyClosed };
absl::string_view ServiceStatusName(ServiceStatus status);

struct Organization {
  std::string id;  // HSDS id (a UUID).
  std::string name;
  std::string description;
};

// One HSDS schedule entry of a service (RFC 5545 style).
struct Schedule {
  std::string freq;                // "WEEKLY" or "MONTHLY".
  std::vector<std::string> byday;  // e.g. {"MO", "TU"}; MONTHLY may prefix "2MO", "-1FR".
  std::string opens_at;            // "09:00", as the file wrote it.
  std::string closes_at;
  std::string description;
};

// A service: what routing calls a provider.
struct Service {
  std::string id;   // HSDS id (a UUID).
  std::string key;  // routing.key: the stable short name used in keys, logs and credentials.
  std::string organization_id;
  std::string organization_name;
  std::string name;
  std::string description;
  ServiceStatus status = ServiceStatus::kActive;
  std::string eligibility_description;
  std::optional<int> minimum_age;  // Inclusive, in whole years.
  std::optional<int> maximum_age;  // Inclusive.
  // Geography from the service's service_areas.
  std::set<std::string> la_codes;            // ONS GSS codes, e.g. "E06000031".
  std::set<std::string> postcode_districts;  // Upper case, e.g. "PE1", "CB4".
  std::vector<std::string> languages;        // ISO 639 codes, e.g. "en", "pl".
  std::vector<std::string> phones;
  // Email addresses of the service's contacts, in file order: the first is where
  // notification sends new offers and reminders.
  std::vector<std::string> emails;
  std::vector<Schedule> schedules;
  // The routing extension.
  std::set<std::string> needs;       // Need-domain ids of the offence table.
  bool any_category = false;         // routing.categories was "any".
  std::set<std::string> categories;  // Crime-category ids; empty when any_category.
  bool enhanced_only = false;
  bool consent_required = false;
  absl::Duration accept_target;  // Offer withdrawn and re-routed after this.
  int max_active = 0;            // Active referrals routing may hold with this service.
  bool fallback = false;
  // The published HSDS service_capacity, when the file has one (informational: routing
  // enforces max_active).
  std::optional<int> capacity_available;

  bool active() const { return status == ServiceStatus::kActive; }
  bool AcceptsAge(int age) const {
    return (!minimum_age || age >= *minimum_age) && (!maximum_age || age <= *maximum_age);
  }
  bool AcceptsCategory(absl::string_view category) const {
    return any_category || categories.count(std::string(category)) > 0;
  }
  bool MeetsNeed(absl::string_view need) const { return needs.count(std::string(need)) > 0; }
};
using Provider = Service;

// Whether `service` covers a victim in local authority `la_code` (GSS, may be empty) or
// postcode district `postcode_district` (any case, may be empty): either one matching is
// enough.
bool Covers(const Service& service, absl::string_view la_code, absl::string_view postcode_district);

// "pe1 " -> "PE1"; the district of a full postcode, "CB4 1AA" -> "CB4". Empty if not a postcode
// district or postcode.
std::string NormalizePostcodeDistrict(absl::string_view text);

class Directory {
 public:
  // Parses and checks `json_text`. Need domains and categories must exist in `offences`.
  // kInvalidArgument lists every problem, each naming the record and field.
  static absl::StatusOr<std::shared_ptr<const Directory>> Parse(
      absl::string_view json_text, const offences::OffenceTable& offences);
  // Parse() of the file at `path`; kNotFound/kInvalidArgument name the path.
  static absl::StatusOr<std::shared_ptr<const Directory>> Load(
      const std::string& path, const offences::OffenceTable& offences);

  // The file's top-level "version" (empty when it has none).
  const std::string& version() const { return version_; }
  const std::vector<Organization>& organizations() const { return organizations_; }
  // In file order.
  const std::vector<Service>& services() const { return services_; }

  // By HSDS id or by routing key; null when there is none.
  const Service* FindService(absl::string_view id_or_key) const;
  const Organization* FindOrganization(absl::string_view id) const;
  // The one service flagged routing.fallback (there is always exactly one).
  const Service& fallback() const { return services_[fallback_index_]; }
  // The active services covering the area, in file order (see Covers()).
  std::vector<const Service*> Covering(absl::string_view la_code,
                                       absl::string_view postcode_district) const;

 private:
  Directory() = default;

  std::string version_;
  std::vector<Organization> organizations_;
  std::vector<Service> services_;
  absl::flat_hash_map<std::string, size_t> service_index_;  // id and key -> index.
  absl::flat_hash_map<std::string, size_t> organization_index_;
  size_t fallback_index_ = 0;
};

// The directory in force, reloaded when the file changes.
class DirectorySource {
 public:
  // Loads the file; fails (so the service does not start) if it does not check. `offences`
  // must outlive the source.
  static absl::StatusOr<std::unique_ptr<DirectorySource>> Create(
      std::string path, const offences::OffenceTable* offences);

  std::shared_ptr<const Directory> Current() const ABSL_LOCKS_EXCLUDED(mu_);

  // Loads the file again. On success the new directory is in force and its version returned;
  // on failure the directory in force stays and the error names the record and field.
  absl::StatusOr<std::string> Reload() ABSL_LOCKS_EXCLUDED(mu_);

  // Whether the file changed (size, modification time or inode) since the last load or
  // refused attempt. A refused file is not retried until it changes again.
  bool Changed() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Stamp {
    int64_t size = -1;
    int64_t mtime_ns = -1;
    int64_t inode = -1;
    bool operator==(const Stamp& other) const {
      return size == other.size && mtime_ns == other.mtime_ns && inode == other.inode;
    }
  };

  DirectorySource(std::string path, const offences::OffenceTable* offences)
      : path_(std::move(path)), offences_(offences) {}
  Stamp Stat() const;

  const std::string path_;
  const offences::OffenceTable* const offences_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Directory> current_ ABSL_GUARDED_BY(mu_);
  Stamp stamp_ ABSL_GUARDED_BY(mu_);
};

// The repository's sample: <dir>/providers.json, where <dir> is $HUB_DIRECTORY_DIR when set
// and deploy/directory of the source tree otherwise. Call in main only.
std::string DefaultDirectoryPath();

}  // namespace hub::routing

#endif  // HUB_SERVICES_ROUTING_DIRECTORY_DIRECTORY_H_
