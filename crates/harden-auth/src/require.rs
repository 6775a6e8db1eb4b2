//! [`RequireLayer`]: per-route scope and role checks on a principal an
//! [`AuthLayer`](crate::AuthLayer) further out already verified.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use harden_core::future::ResponseFuture;
use harden_core::{ErrorResponse, Principal, Rejection, ResponseBody};
use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::ConfigError;
use crate::layer::Requirement;

/// Checks a [`Requirement`] against the [`Principal`] in the request
/// extensions, without verifying the token again: 403 `insufficient_scope`
/// when it is not met, 401 when there is no principal (the route is not
/// behind an `AuthLayer`, or authentication was optional and absent).
///
/// Use it for per-route rules under one `AuthLayer` (in axum, with
/// `route_layer`).
///
/// ```
/// use harden_auth::{RequireLayer, Requirement};
/// use harden_core::Principal;
/// use http::{Request, Response, StatusCode};
/// use std::convert::Infallible;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let admin_only = RequireLayer::new(Requirement::any_scope(["admin"]))?
///     .layer(service_fn(|_req: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) }));
///
/// let mut req = Request::new(());
/// req.extensions_mut().insert(Principal::new("u1").with_scopes(["read"]));
/// let res = admin_only.clone().oneshot(req).await?;
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RequireLayer {
    shared: Arc<RequireShared>,
}

struct RequireShared {
    requirement: Requirement,
    missing: HeaderValue,
    insufficient: HeaderValue,
}

impl fmt::Debug for RequireLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireLayer")
            .field("requirement", &self.shared.requirement)
            .finish()
    }
}

impl RequireLayer {
    /// A layer that requires `requirement` (challenges name the realm `api`).
    ///
    /// # Errors
    ///
    /// When a scope or role is not a valid scope token.
    pub fn new(requirement: Requirement) -> Result<Self, ConfigError> {
        RequireLayer::with_realm(requirement, "api")
    }

    /// A layer that requires `requirement`, with this challenge realm.
    ///
    /// # Errors
    ///
    /// When a scope or role is not a valid scope token, or the realm cannot
    /// be quoted in a header.
    pub fn with_realm(requirement: Requirement, realm: &str) -> Result<Self, ConfigError> {
        let (missing, insufficient) = requirement.challenges(realm)?;
        Ok(RequireLayer {
            shared: Arc::new(RequireShared {
                requirement,
                missing,
                insufficient,
            }),
        })
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service produced by [`RequireLayer`].
#[derive(Clone)]
pub struct RequireService<S> {
    inner: S,
    shared: Arc<RequireShared>,
}

impl<S: fmt::Debug> fmt::Debug for RequireService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireService")
            .field("inner", &self.inner)
            .field("requirement", &self.shared.requirement)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, ()>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let refusal = match req.extensions().get::<Principal>() {
            Some(principal) if self.shared.requirement.is_met_by(principal) => None,
            Some(_) => Some((
                StatusCode::FORBIDDEN,
                "Insufficient scope",
                "insufficient-scope",
                &self.shared.insufficient,
            )),
            None => Some((
                StatusCode::UNAUTHORIZED,
                "Authentication required",
                "missing",
                &self.shared.missing,
            )),
        };
        match refusal {
            None => ResponseFuture::inner(self.inner.call(req), ()),
            Some((status, message, reason, challenge)) => ResponseFuture::answer(
                ErrorResponse::new(status, message)
                    .rejection(Rejection::new("auth", reason))
                    .header(WWW_AUTHENTICATE, challenge.clone())
                    .for_request(req.extensions())
                    .into_response(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{ServiceExt, service_fn};

    async fn status(principal: Option<Principal>) -> (StatusCode, Option<String>) {
        let svc = RequireLayer::new(Requirement::all_scopes(["a", "b"]))
            .unwrap()
            .layer(service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            }));
        let mut req = Request::new(());
        if let Some(p) = principal {
            req.extensions_mut().insert(p);
        }
        let res = svc.oneshot(req).await.unwrap();
        let challenge = res
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        (res.status(), challenge)
    }

    #[tokio::test]
    async fn requires_a_principal_meeting_the_requirement() {
        assert_eq!(
            status(None).await,
            (
                StatusCode::UNAUTHORIZED,
                Some("Bearer realm=\"api\"".to_owned())
            )
        );
        assert_eq!(
            status(Some(Principal::new("u").with_scopes(["a"]))).await,
            (
                StatusCode::FORBIDDEN,
                Some(
                    "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"a b\"".to_owned()
                )
            )
        );
        assert_eq!(
            status(Some(Principal::new("u").with_scopes(["b", "a"]))).await,
            (StatusCode::OK, None)
        );
    }
}
