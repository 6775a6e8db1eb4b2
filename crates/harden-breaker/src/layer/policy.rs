//! The layer's extension points: which responses are failures
//! ([`ClassifyResponse`]), what to answer instead of a 503 ([`Fallback`]), and
//! which breaker guards a request ([`PickBreaker`]).

use std::fmt::Display;
use std::hash::Hash;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Request, Response, StatusCode};

use crate::breaker::Breaker;
use crate::machine::{Outcome, Rejected};
use crate::registry::BreakerRegistry;

/// Decides what a response counts as. Any `Fn(StatusCode) -> Outcome + Clone`
/// is one; [`ServerErrorsFail`] is the default.
///
/// Errors of the inner service (connection refused or reset, DNS failure,
/// timeouts of an inner client) always count as failures.
pub trait ClassifyResponse: Clone {
    /// The outcome a response with `status` and `headers` stands for.
    fn classify(&self, status: StatusCode, headers: &HeaderMap) -> Outcome;
}

impl<F> ClassifyResponse for F
where
    F: Fn(StatusCode) -> Outcome + Clone,
{
    fn classify(&self, status: StatusCode, _headers: &HeaderMap) -> Outcome {
        self(status)
    }
}

/// The default classification: a 5xx is a failure; anything else, 4xx
/// included, a success (the caller's mistake says nothing about the
/// upstream's health). A 429 is a success too: count it as a failure with a
/// classifier of your own if the upstream's rate limit should open the
/// breaker.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerErrorsFail;

impl ClassifyResponse for ServerErrorsFail {
    fn classify(&self, status: StatusCode, _headers: &HeaderMap) -> Outcome {
        Outcome::from_status(status)
    }
}

/// Answers a rejected request instead of the 503: a cached copy, a degraded
/// page. Any `Fn(&Parts, &Rejected) -> Option<Response<Bytes>> + Send + Sync`
/// is one; `None` keeps the 503.
pub trait Fallback: Send + Sync + 'static {
    /// The response for the rejected request `parts`, or `None` for the 503.
    fn fallback(&self, parts: &Parts, rejected: &Rejected) -> Option<Response<Bytes>>;
}

impl<F> Fallback for F
where
    F: Fn(&Parts, &Rejected) -> Option<Response<Bytes>> + Send + Sync + 'static,
{
    fn fallback(&self, parts: &Parts, rejected: &Rejected) -> Option<Response<Bytes>> {
        self(parts, rejected)
    }
}

/// Chooses the breaker that guards a request, or none (the request passes
/// unguarded). A [`Breaker`] guards every request; [`ByKey`] picks one from a
/// [`BreakerRegistry`].
pub trait PickBreaker<B> {
    /// The breaker for `request`.
    fn pick(&self, request: &Request<B>) -> Option<Breaker>;
}

impl<B> PickBreaker<B> for Breaker {
    fn pick(&self, _request: &Request<B>) -> Option<Breaker> {
        Some(self.clone())
    }
}

/// A breaker per key, the key taken from the request by `F` (a request
/// without a key passes unguarded); see [`BreakerLayer::keyed`](super::BreakerLayer::keyed).
#[derive(Clone, Debug)]
pub struct ByKey<K, F> {
    registry: BreakerRegistry<K>,
    key: F,
}

impl<K, F> ByKey<K, F> {
    pub(crate) fn new(registry: BreakerRegistry<K>, key: F) -> Self {
        ByKey { registry, key }
    }

    /// The registry.
    pub fn registry(&self) -> &BreakerRegistry<K> {
        &self.registry
    }
}

impl<B, K, F> PickBreaker<B> for ByKey<K, F>
where
    K: Hash + Eq + Clone + Display,
    F: Fn(&Request<B>) -> Option<K>,
{
    fn pick(&self, request: &Request<B>) -> Option<Breaker> {
        (self.key)(request).map(|key| self.registry.get(&key))
    }
}
