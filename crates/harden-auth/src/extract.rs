//! axum extractors for the verified claims.

use std::convert::Infallible;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use harden_core::{ErrorResponse, Rejection};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};

use crate::claims::Claims;

/// The claims an [`AuthLayer`](crate::AuthLayer) verified. Rejects with 401
/// (shared error format, Bearer challenge) when the request carries none,
/// which happens only on routes the layer does not cover or in optional mode.
/// `T` must be the verifier's claims type.
impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = Response<Body>;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Claims<T>>().cloned().ok_or_else(|| {
            ErrorResponse::new(StatusCode::UNAUTHORIZED, "Authentication required")
                .rejection(Rejection::new("auth", "no-claims"))
                .header(
                    http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer"),
                )
                .for_request(&parts.extensions)
                .into_response::<Body>()
                .map(Body::new)
        })
    }
}

/// `Option<Claims<T>>`, for optional-authentication routes: `None` without a
/// verified token.
impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Claims<T>>().cloned())
    }
}
