//! `RateLimitLayer`: the tower adapter of [`RateLimiter`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use harden_core::future::{OnResponse, ResponseFuture};
use harden_core::{ErrorResponse, Rejection, ResponseBody};
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::headers;
use crate::key::RequestRef;
use crate::limiter::{Begun, Outcome, RateLimiter, Verdict};

/// Applies a [`RateLimiter`] to every request: 429 with `Retry-After` and the
/// `RateLimit` fields when a policy refuses, the fields on admitted responses
/// too (unless configured otherwise).
///
/// Every service built from the layer, and every clone of them, shares the one
/// limiter: the quota is per layer, never per connection.
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    limiter: RateLimiter,
}

impl RateLimitLayer {
    /// A layer applying `limiter`.
    pub fn new(limiter: RateLimiter) -> Self {
        RateLimitLayer { limiter }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

/// The service produced by [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimit<S> {
    inner: S,
    limiter: RateLimiter,
}

impl<S, B, RB> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone,
{
    type Response = Response<ResponseBody<RB>>;
    type Error = S::Error;
    type Future = RateLimitFuture<S, B, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.limiter.begin(&RequestRef::from(&req)) {
            Begun::Done(outcome) => {
                let future = respond(&mut self.inner, &self.limiter, outcome, req);
                RateLimitFuture {
                    kind: Kind::Respond { future },
                }
            }
            #[cfg(feature = "redis")]
            Begun::Pending(decision) => {
                // The ready service goes into the future; this one gets a clone
                // that will be driven to readiness before its next call.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                RateLimitFuture {
                    kind: Kind::Deciding {
                        decision,
                        state: Some((inner, self.limiter.clone(), req)),
                    },
                }
            }
        }
    }
}

/// Answers or calls `inner` for a decided request.
fn respond<S, B, RB>(
    inner: &mut S,
    limiter: &RateLimiter,
    outcome: Outcome,
    req: Request<B>,
) -> ResponseFuture<S::Future, RB, Hook>
where
    S: Service<Request<B>, Response = Response<RB>>,
{
    let shared = &limiter.shared;
    match outcome.verdict() {
        Verdict::Limited => {
            let (name, value) = headers::retry_after(outcome.retry_after());
            let mut res = ErrorResponse::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
                .rejection(Rejection::new("ratelimit", "quota-exceeded"))
                .problem_type("https://iana.org/assignments/http-problem-types#quota-exceeded")
                .header(name, value)
                .for_request(req.extensions())
                .into_response();
            headers::apply(&outcome, shared, res.headers_mut());
            ResponseFuture::answer(res)
        }
        Verdict::StoreUnavailable => {
            let (name, value) = headers::retry_after(std::time::Duration::from_secs(1));
            let res = ErrorResponse::new(StatusCode::SERVICE_UNAVAILABLE, "")
                .rejection(Rejection::new("ratelimit", "store-unavailable"))
                .header(name, value)
                .for_request(req.extensions())
                .into_response();
            ResponseFuture::answer(res)
        }
        Verdict::AllowListed => ResponseFuture::inner(inner.call(req), Hook(None)),
        Verdict::Admitted | Verdict::DryRunLimited => {
            let hook = (shared.admitted_headers && !outcome.statuses.is_empty())
                .then(|| (limiter.clone(), outcome));
            ResponseFuture::inner(inner.call(req), Hook(hook))
        }
    }
}

/// Adds the rate-limit fields to an admitted response.
pub(crate) struct Hook(Option<(RateLimiter, Outcome)>);

impl<B> OnResponse<B> for Hook {
    fn on_response(self, response: &mut Response<B>) {
        if let Some((limiter, outcome)) = self.0 {
            headers::apply(&outcome, &limiter.shared, response.headers_mut());
        }
    }
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

pin_project! {
    /// The response future of [`RateLimit`].
    pub struct RateLimitFuture<S, B, RB>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        kind: Kind<S, B, RB>,
    }
}

#[cfg(feature = "redis")]
type Deciding = Pin<Box<dyn Future<Output = Outcome> + Send>>;

pin_project! {
    #[project = KindProj]
    enum Kind<S, B, RB>
    where
        S: Service<Request<B>>,
    {
        Deciding {
            decision: DecisionFuture,
            state: Option<(S, RateLimiter, Request<B>)>,
        },
        Respond {
            #[pin]
            future: ResponseFuture<S::Future, RB, Hook>,
        },
    }
}

/// The shared store's pending decision (never constructed without the `redis` feature).
#[cfg(feature = "redis")]
type DecisionFuture = Deciding;
#[cfg(not(feature = "redis"))]
type DecisionFuture = std::future::Pending<Outcome>;

impl<S, B, RB> std::fmt::Debug for RateLimitFuture<S, B, RB>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitFuture").finish_non_exhaustive()
    }
}

impl<S, B, RB> Future for RateLimitFuture<S, B, RB>
where
    S: Service<Request<B>, Response = Response<RB>>,
{
    type Output = Result<Response<ResponseBody<RB>>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut this = self.as_mut().project();
            match this.kind.as_mut().project() {
                KindProj::Deciding { decision, state } => {
                    let outcome = ready!(Pin::new(decision).poll(cx));
                    let Some((mut inner, limiter, req)) = state.take() else {
                        let res = ErrorResponse::new(StatusCode::INTERNAL_SERVER_ERROR, "")
                            .into_response();
                        return Poll::Ready(Ok(res));
                    };
                    let future = respond(&mut inner, &limiter, outcome, req);
                    this.kind.set(Kind::Respond { future });
                }
                KindProj::Respond { future } => return future.poll(cx),
            }
        }
    }
}
