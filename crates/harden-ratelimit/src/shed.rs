//! `LoadShed`: soft and hard limits on requests in flight (the playbook's
//! load-balancer connection limits, 20 soft / 25 hard per instance).
//!
//! At the hard limit a new request is answered at once with 503 and
//! `Retry-After`, decided in `call`: `poll_ready` is never held back, so a
//! saturated instance answers quickly instead of queueing. Above the soft limit
//! requests still run, but carry an [`OverSoftLimit`] request extension and
//! are counted, so handlers can degrade (skip optional work) and readiness
//! probes can report saturation.
//!
//! ```
//! use harden_ratelimit::LoadShed;
//! use http::{Request, Response};
//! use std::convert::Infallible;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let shed = LoadShed::playbook(); // 20 soft, 25 hard
//! let svc = shed.layer().layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("ok")))
//! }));
//! let res = svc.oneshot(Request::new(())).await?;
//! assert_eq!(res.status(), 200);
//! assert_eq!(shed.in_flight(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Caveats
//!
//! A request counts as in flight from `call` until its response head is ready
//! (or its future is dropped), not until its body is sent: a streaming body
//! does not hold a slot.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use harden_core::future::ResponseFuture;
use harden_core::{ErrorResponse, Rejection, ResponseBody};
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::ConfigError;
use crate::headers;

/// Soft and hard limits on concurrent requests, shared by every service built
/// from it. Cheap to clone; clones share the gauge.
#[derive(Clone)]
pub struct LoadShed {
    state: Arc<State>,
    retry_after: Duration,
}

struct State {
    soft: usize,
    hard: usize,
    in_flight: AtomicUsize,
    over_soft: AtomicU64,
    shed: AtomicU64,
}

/// A request extension present when the request started above the soft limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverSoftLimit {
    /// Requests in flight when it started, itself included.
    pub in_flight: usize,
}

impl LoadShed {
    /// Limits of `soft` and `hard` concurrent requests; 503 with
    /// `Retry-After: 1` at the hard limit.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ShedLimits`] unless `1 <= soft <= hard`.
    pub fn new(soft: usize, hard: usize) -> Result<Self, ConfigError> {
        if soft == 0 || soft > hard {
            return Err(ConfigError::ShedLimits { soft, hard });
        }
        Ok(LoadShed {
            state: Arc::new(State {
                soft,
                hard,
                in_flight: AtomicUsize::new(0),
                over_soft: AtomicU64::new(0),
                shed: AtomicU64::new(0),
            }),
            retry_after: Duration::from_secs(1),
        })
    }

    /// The playbook's limits (section 2.1): 20 soft, 25 hard.
    pub fn playbook() -> Self {
        LoadShed {
            state: Arc::new(State {
                soft: 20,
                hard: 25,
                in_flight: AtomicUsize::new(0),
                over_soft: AtomicU64::new(0),
                shed: AtomicU64::new(0),
            }),
            retry_after: Duration::from_secs(1),
        }
    }

    /// The `Retry-After` of a shed request (default 1 s; rounded up to whole
    /// seconds, at least 1). Clones keep sharing the gauge.
    #[must_use]
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// A layer enforcing these limits.
    pub fn layer(&self) -> LoadShedLayer {
        LoadShedLayer { shed: self.clone() }
    }

    /// Requests in flight now (the gauge).
    pub fn in_flight(&self) -> usize {
        self.state.in_flight.load(Ordering::Acquire)
    }

    /// Whether more than the soft limit are in flight now: report it from a
    /// readiness probe to steer traffic elsewhere.
    pub fn is_over_soft_limit(&self) -> bool {
        self.in_flight() > self.state.soft
    }

    /// Requests started above the soft limit so far.
    pub fn over_soft_total(&self) -> u64 {
        self.state.over_soft.load(Ordering::Relaxed)
    }

    /// Requests refused at the hard limit so far.
    pub fn shed_total(&self) -> u64 {
        self.state.shed.load(Ordering::Relaxed)
    }

    /// Takes a slot, or `None` at the hard limit.
    fn acquire(&self) -> Option<(Slot, usize)> {
        let s = &self.state;
        let n = s.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        let slot = Slot(self.state.clone());
        if n > s.hard {
            drop(slot);
            s.shed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if n > s.soft {
            s.over_soft.fetch_add(1, Ordering::Relaxed);
        }
        Some((slot, n))
    }
}

impl fmt::Debug for LoadShed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadShed")
            .field("soft", &self.state.soft)
            .field("hard", &self.state.hard)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

/// One request's place in flight; given back on drop.
struct Slot(Arc<State>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The layer of a [`LoadShed`].
#[derive(Clone, Debug)]
pub struct LoadShedLayer {
    shed: LoadShed,
}

impl<S> Layer<S> for LoadShedLayer {
    type Service = LoadShedService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LoadShedService {
            inner,
            shed: self.shed.clone(),
        }
    }
}

/// The service produced by [`LoadShedLayer`].
#[derive(Clone, Debug)]
pub struct LoadShedService<S> {
    inner: S,
    shed: LoadShed,
}

impl<S, B, RB> Service<Request<B>> for LoadShedService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<ResponseBody<RB>>;
    type Error = S::Error;
    type Future = LoadShedFuture<S::Future, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let Some((slot, n)) = self.shed.acquire() else {
            let (name, value) = headers::retry_after(self.shed.retry_after);
            let res = ErrorResponse::new(StatusCode::SERVICE_UNAVAILABLE, "")
                .rejection(Rejection::new("shed", "over-capacity"))
                .header(name, value)
                .for_request(req.extensions())
                .into_response();
            return LoadShedFuture {
                inner: ResponseFuture::answer(res),
                slot: None,
            };
        };
        if n > self.shed.state.soft {
            req.extensions_mut().insert(OverSoftLimit { in_flight: n });
        }
        LoadShedFuture {
            inner: ResponseFuture::inner(self.inner.call(req), ()),
            slot: Some(slot),
        }
    }
}

pin_project! {
    /// The response future of [`LoadShedService`]; holds the request's slot.
    pub struct LoadShedFuture<F, B> {
        #[pin]
        inner: ResponseFuture<F, B, ()>,
        slot: Option<Slot>,
    }
}

impl<F, B> fmt::Debug for LoadShedFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadShedFuture")
            .field("holds_slot", &self.slot.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for LoadShedFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        this.slot.take();
        Poll::Ready(out)
    }
}
