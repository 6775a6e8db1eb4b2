//! The response fields: `RateLimit-Policy` and `RateLimit`
//! (draft-ietf-httpapi-ratelimit-headers-10, Structured Fields), `Retry-After`
//! (RFC 9110 §10.2.3) and, optionally, the legacy `X-RateLimit-*`.

use std::fmt::Write as _;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, header::RETRY_AFTER};

use crate::limiter::{Outcome, PolicyState, Shared};

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static X_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static X_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static X_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// `"name";q=<count>;w=<period seconds>` for every policy.
pub(crate) fn policy_field(policies: &[PolicyState]) -> HeaderValue {
    let mut out = String::new();
    for p in policies {
        if !out.is_empty() {
            out.push_str(", ");
        }
        let _ = write!(
            out,
            "\"{}\";q={};w={}",
            p.name,
            p.quota.count(),
            ceil_secs(p.quota.period())
        );
    }
    // Names are validated tokens and the rest is digits.
    HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whole seconds, rounded up.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Writes the fields for `outcome` into `headers`.
pub(crate) fn apply(outcome: &Outcome, shared: &Shared, headers: &mut HeaderMap) {
    if outcome.statuses.is_empty() {
        return;
    }
    headers.insert(RATELIMIT_POLICY.clone(), shared.policy_header.clone());
    let mut out = String::with_capacity(64);
    for s in outcome.statuses.iter() {
        let Some(p) = shared.policies.get(s.policy) else {
            continue;
        };
        if !out.is_empty() {
            out.push_str(", ");
        }
        let t = if s.decision.allowed {
            s.decision.reset_after
        } else {
            s.decision.retry_after
        };
        let _ = write!(
            out,
            "\"{}\";r={};t={}",
            p.name,
            s.decision.remaining,
            ceil_secs(t)
        );
    }
    if let Ok(v) = HeaderValue::from_str(&out) {
        headers.insert(RATELIMIT.clone(), v);
    }
    if shared.legacy {
        // The tightest policy: a refusing one with the longest wait, else the
        // one with the fewest requests left.
        let tightest = outcome.statuses.iter().min_by_key(|s| {
            (
                s.decision.allowed,
                std::cmp::Reverse(s.decision.retry_after),
                s.decision.remaining,
            )
        });
        if let Some(s) = tightest
            && let Some(p) = shared.policies.get(s.policy)
        {
            let t = if s.decision.allowed {
                s.decision.reset_after
            } else {
                s.decision.retry_after
            };
            headers.insert(X_LIMIT.clone(), HeaderValue::from(p.quota.count()));
            headers.insert(X_REMAINING.clone(), HeaderValue::from(s.decision.remaining));
            headers.insert(X_RESET.clone(), HeaderValue::from(ceil_secs(t)));
        }
    }
}

/// `Retry-After` in whole seconds, at least 1, never earlier than the wait.
pub(crate) fn retry_after(wait: Duration) -> (HeaderName, HeaderValue) {
    (RETRY_AFTER, HeaderValue::from(ceil_secs(wait).max(1)))
}
