#include "forward/resilience/retry_budget.hpp"

namespace meridian::forward {

RetryBudget::RetryBudget(double ratio, Ms window, unsigned min_retries)
    : ratio_(ratio), min_retries_(min_retries), window_(window, 10) {}

void RetryBudget::on_request(Time now) { window_.add(now, 1, 0); }

bool RetryBudget::try_retry(Time now) {
  uint64_t requests = 0, retries = 0;
  window_.sums(now, requests, retries);
  const double allowed = double(min_retries_) + ratio_ * double(requests);
  if (double(retries) + 1 > allowed) {
    ++denied_;
    return false;
  }
  window_.add(now, 0, 1);
  return true;
}

}  // namespace meridian::forward
