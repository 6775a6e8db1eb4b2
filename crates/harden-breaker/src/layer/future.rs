//! The layer's [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use harden_core::{ErrorFormat, ErrorResponse, Rejection, RequestId, ResponseBody};
use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::LAYER;
use super::policy::ClassifyResponse;
use crate::breaker::Permit;
use crate::call::{Deadline, poll_deadline};
use crate::machine::Outcome;

/// What a timed-out request is answered with: 504 in the request's error
/// format, with its request id.
#[derive(Debug)]
pub(crate) struct OnTimeout {
    pub(crate) limit: Duration,
    pub(crate) request_id: Option<RequestId>,
    pub(crate) format: Option<ErrorFormat>,
}

impl OnTimeout {
    fn response<B>(self) -> Response<ResponseBody<B>> {
        let mut e = ErrorResponse::new(StatusCode::GATEWAY_TIMEOUT, "")
            .rejection(Rejection::new(LAYER, "timeout"));
        if let Some(id) = self.request_id {
            e = e.request_id(id);
        }
        if let Some(format) = self.format {
            e = e.format(format);
        }
        e.into_response()
    }
}

pin_project! {
    /// The response future of [`BreakerService`](super::BreakerService): the
    /// rejection or fallback answered at once, the inner response with the
    /// outcome recorded, or a 504 when the call timed out. The inner error
    /// type is kept.
    pub struct ResponseFuture<F, B, C> {
        #[pin]
        kind: Kind<F, B, C>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, C> {
        Answer { response: Option<Response<ResponseBody<B>>> },
        Unguarded { #[pin] future: F },
        Guarded {
            #[pin]
            future: F,
            // Boxed, and only once the response is still pending after the
            // first poll: see `crate::call`.
            sleep: Option<Pin<Box<Sleep>>>,
            permit: Option<Permit>,
            classify: C,
            timeout: Option<OnTimeout>,
        },
        Done,
    }
}

impl<F, B, C> ResponseFuture<F, B, C> {
    pub(crate) fn answer(response: Response<ResponseBody<B>>) -> Self {
        ResponseFuture {
            kind: Kind::Answer {
                response: Some(response),
            },
        }
    }

    pub(crate) fn unguarded(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Unguarded { future },
        }
    }

    pub(crate) fn guarded(
        future: F,
        permit: Permit,
        classify: C,
        timeout: Option<OnTimeout>,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Guarded {
                future,
                sleep: None,
                permit: Some(permit),
                classify,
                timeout,
            },
        }
    }
}

impl<F, B, C> fmt::Debug for ResponseFuture<F, B, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Answer { .. } => "answer",
            Kind::Unguarded { .. } => "unguarded",
            Kind::Guarded { .. } => "guarded",
            Kind::Done => "done",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

/// An answer for a future polled again after it ended: a caller bug, answered
/// rather than left hanging or panicking.
fn spent<B>() -> Response<ResponseBody<B>> {
    ErrorResponse::new(StatusCode::INTERNAL_SERVER_ERROR, "").into_response()
}

impl<F, B, C, E> Future for ResponseFuture<F, B, C>
where
    F: Future<Output = Result<Response<B>, E>>,
    C: ClassifyResponse,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let answer = match this.kind.as_mut().project() {
            KindProj::Answer { response } => {
                return Poll::Ready(Ok(response.take().unwrap_or_else(spent)));
            }
            KindProj::Unguarded { future } => {
                return Poll::Ready(ready!(future.poll(cx)).map(|r| r.map(ResponseBody::new)));
            }
            KindProj::Done => return Poll::Ready(Ok(spent())),
            KindProj::Guarded {
                future,
                sleep,
                permit,
                classify,
                timeout,
            } => {
                let Some(guard) = permit.as_mut() else {
                    return Poll::Ready(Ok(spent()));
                };
                guard.polling = true;
                let polled = future.poll(cx);
                guard.polling = false;
                if let Poll::Ready(result) = polled {
                    let outcome = match &result {
                        Ok(res) => classify.classify(res.status(), res.headers()),
                        Err(_) => Outcome::Failure,
                    };
                    if let Some(p) = permit.take() {
                        p.record(outcome);
                    }
                    return Poll::Ready(result.map(|r| r.map(ResponseBody::new)));
                }
                let Some(limit) = timeout.as_ref().map(|t| t.limit) else {
                    return Poll::Pending;
                };
                match poll_deadline(limit, sleep, permit, cx) {
                    Deadline::Pending => return Poll::Pending,
                    Deadline::NoTimer => {
                        *timeout = None;
                        return Poll::Pending;
                    }
                    Deadline::Expired => timeout.take().map_or_else(spent, OnTimeout::response),
                }
            }
        };
        // Drops the inner future now: a timed-out call stops running.
        this.kind.set(Kind::Done);
        Poll::Ready(Ok(answer))
    }
}
