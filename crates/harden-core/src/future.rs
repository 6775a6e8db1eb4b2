//! `ResponseFuture`: the future of a layer that either answers a request
//! itself or calls its inner service and amends the answer.
//!
//! Most harden layers have this shape: CORS answers preflights and amends
//! every other response with its headers; the HTTPS redirect answers plain
//! HTTP and adds HSTS to the rest; rate limiting answers 429 and adds its
//! headers. The decision is made in `call`; this future carries it out without
//! boxing.
//!
//! ```
//! use harden_core::ResponseBody;
//! use harden_core::future::{OnResponse, ResponseFuture};
//! use http::{HeaderValue, Response};
//! use std::convert::Infallible;
//! use std::future::ready;
//!
//! /// Stamps the layer's name on responses it let through.
//! struct Stamp;
//!
//! impl<B> OnResponse<B> for Stamp {
//!     fn on_response(self, response: &mut Response<B>) {
//!         response.headers_mut().insert("x-layer", HeaderValue::from_static("stamp"));
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let inner = ready(Ok::<_, Infallible>(Response::new(String::from("ok"))));
//! let res = ResponseFuture::inner(inner, Stamp).await.unwrap();
//! assert_eq!(res.headers()["x-layer"], "stamp");
//!
//! let answered: ResponseFuture<std::future::Ready<Result<Response<String>, Infallible>>, String, Stamp> =
//!     ResponseFuture::answer(Response::new(ResponseBody::empty()));
//! assert!(answered.await.unwrap().headers().get("x-layer").is_none());
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Response, StatusCode};
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::error::ErrorResponse;

/// What a layer does to the inner service's response once it arrives.
pub trait OnResponse<B> {
    /// Amends `response` (headers, extensions, status).
    fn on_response(self, response: &mut Response<B>);
}

impl<B> OnResponse<B> for () {
    fn on_response(self, _response: &mut Response<B>) {}
}

impl<B, T: OnResponse<B>> OnResponse<B> for Option<T> {
    fn on_response(self, response: &mut Response<B>) {
        if let Some(hook) = self {
            hook.on_response(response);
        }
    }
}

pin_project! {
    /// The response future of a layer that answers some requests itself: either
    /// its own response, ready now, or the inner service's, amended by `H` and
    /// with its body wrapped in [`ResponseBody`]. The inner error type is kept.
    pub struct ResponseFuture<F, B, H> {
        #[pin]
        kind: Kind<F, B, H>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, H> {
        Inner {
            #[pin]
            future: F,
            hook: Option<H>,
        },
        Answer {
            response: Option<Response<ResponseBody<B>>>,
        },
    }
}

impl<F, B, H> ResponseFuture<F, B, H> {
    /// Waits for the inner service's response, then applies `hook` to it.
    pub fn inner(future: F, hook: H) -> Self {
        ResponseFuture {
            kind: Kind::Inner {
                future,
                hook: Some(hook),
            },
        }
    }

    /// Answers with `response`, without the inner service.
    pub fn answer(response: Response<ResponseBody<B>>) -> Self {
        ResponseFuture {
            kind: Kind::Answer {
                response: Some(response),
            },
        }
    }
}

impl<F, B, H> fmt::Debug for ResponseFuture<F, B, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Answer { .. } => "answer",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

impl<F, B, H, E> Future for ResponseFuture<F, B, H>
where
    F: Future<Output = Result<Response<B>, E>>,
    H: OnResponse<B>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, hook } => {
                let mut response = ready!(future.poll(cx))?;
                if let Some(hook) = hook.take() {
                    hook.on_response(&mut response);
                }
                Poll::Ready(Ok(response.map(ResponseBody::new)))
            }
            // Polled again after completing: a caller bug, answered rather than
            // left hanging or panicking.
            KindProj::Answer { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    ErrorResponse::new(StatusCode::INTERNAL_SERVER_ERROR, "").into_response()
                })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::{Ready, ready};

    use http::HeaderValue;

    use super::*;

    struct Mark(&'static str);

    impl<B> OnResponse<B> for Mark {
        fn on_response(self, response: &mut Response<B>) {
            response
                .headers_mut()
                .insert("x-mark", HeaderValue::from_static(self.0));
        }
    }

    type Inner = Ready<Result<Response<&'static str>, Infallible>>;

    #[tokio::test]
    async fn inner_response_is_amended_and_wrapped() {
        let f: ResponseFuture<Inner, &'static str, Mark> =
            ResponseFuture::inner(ready(Ok(Response::new("body"))), Mark("m"));
        let res = f.await.unwrap();
        assert_eq!(res.headers()["x-mark"], "m");
    }

    #[tokio::test]
    async fn inner_error_passes_through() {
        let f: ResponseFuture<Ready<Result<Response<&'static str>, &'static str>>, _, Mark> =
            ResponseFuture::inner(ready(Err("boom")), Mark("m"));
        assert_eq!(f.await.unwrap_err(), "boom");
    }

    #[tokio::test]
    async fn answer_is_returned_without_the_hook() {
        let mut own = Response::new(ResponseBody::empty());
        *own.status_mut() = StatusCode::NO_CONTENT;
        let f: ResponseFuture<Inner, &'static str, Mark> = ResponseFuture::answer(own);
        let res = f.await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert!(res.headers().get("x-mark").is_none());
    }

    #[test]
    fn polling_an_answer_twice_gives_a_500_not_a_hang() {
        let f: ResponseFuture<Inner, &'static str, ()> =
            ResponseFuture::answer(Response::new(ResponseBody::empty()));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut f = std::pin::pin!(f);
        assert!(matches!(f.as_mut().poll(&mut cx), Poll::Ready(Ok(r)) if r.status() == 200));
        assert!(matches!(f.as_mut().poll(&mut cx), Poll::Ready(Ok(r)) if r.status() == 500));
    }
}
