//! What every harden layer shares.
//!
//! ```
//! use harden_core::ip::{ClientIpLayer, PeerAddr, TrustedProxies};
//! use harden_core::{ErrorResponse, Rejection, RequestId, RequestIdLayer};
//! use http::{Request, Response, StatusCode};
//! use std::convert::Infallible;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A handler that refuses everything in the shared error format.
//! let handler = service_fn(|req: Request<()>| async move {
//!     let res = ErrorResponse::new(StatusCode::FORBIDDEN, "Not today")
//!         .rejection(Rejection::new("example", "always-no"))
//!         .for_request(req.extensions())
//!         .into_response::<String>();
//!     Ok::<_, Infallible>(res)
//! });
//! let svc = ServiceBuilder::new()
//!     .layer(RequestIdLayer::new())
//!     .layer(ClientIpLayer::new(TrustedProxies::new(["10.0.0.0/8"])?))
//!     .service(handler);
//!
//! let req = Request::builder()
//!     .header("x-request-id", "req-1")
//!     .extension(PeerAddr("10.0.0.9:4000".parse()?))
//!     .body(())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! assert_eq!(res.headers()["x-request-id"], "req-1");
//! assert_eq!(res.extensions().get::<RequestId>().unwrap().as_str(), "req-1");
//! # Ok(())
//! # }
//! ```
//!
//! - [`ip`]: the client address behind trusted proxies ([`ip::TrustedProxies`],
//!   [`ip::ClientIp`], [`ip::ClientIpLayer`]) and the request scheme.
//! - [`ErrorResponse`] / [`ErrorFormat`]: the playbook's JSON error document or
//!   RFC 9457 problem details; a 5xx never carries an internal message.
//! - [`Rejection`]: which layer refused a request and why, in the response
//!   extensions.
//! - [`RequestId`] / [`RequestIdLayer`]: accept a plain incoming `x-request-id`
//!   or generate one, on the request, the response and the tracing span.
//! - [`Principal`]: the verified caller, set by authentication.
//! - [`ResponseBody`] and [`future::ResponseFuture`]: the body and future of
//!   layers that can answer by themselves.
//!
//! # Features
//!
//! - `axum`: read the peer from axum's `ConnectInfo<SocketAddr>`.
//! - `serde`: configuration structs in [`config`].
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod body;
pub mod config;
pub mod error;
pub mod future;
pub mod ip;
pub mod principal;
pub mod rejection;
pub mod request_id;
pub mod syntax;
pub mod time;
pub mod vary;

pub use self::body::ResponseBody;
pub use self::config::ConfigError;
pub use self::error::{ErrorFormat, ErrorFormatLayer, ErrorResponse};
pub use self::principal::Principal;
pub use self::rejection::Rejection;
pub use self::request_id::{RequestId, RequestIdLayer};
