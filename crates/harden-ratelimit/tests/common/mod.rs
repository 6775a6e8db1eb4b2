//! Helpers shared by the integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    dead_code,
    unreachable_pub
)]

use std::convert::Infallible;
use std::net::SocketAddr;

use harden_core::ResponseBody;
use harden_core::ip::PeerAddr;
use http::{Request, Response};
use tower::{Layer, Service, ServiceExt, service_fn};

pub type Body = String;

/// A handler answering 200 "ok".
pub fn ok_service() -> impl Service<
    Request<()>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    service_fn(|_req: Request<()>| async { Ok::<_, Infallible>(Response::new(String::from("ok"))) })
}

/// A request from peer address `ip` (port 4000) with these headers.
pub fn from_peer(ip: &str, headers: &[(&str, &str)]) -> Request<()> {
    let addr = SocketAddr::new(ip.parse().unwrap(), 4000);
    let mut b = Request::builder().uri("/");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(()).unwrap();
    req.extensions_mut().insert(PeerAddr(addr));
    req
}

/// Sends `req` through `layer` over a fresh ok handler.
pub async fn send<L>(layer: &L, req: Request<()>) -> Response<ResponseBody<Body>>
where
    L: Layer<tower::util::BoxCloneService<Request<()>, Response<Body>, Infallible>>,
    L::Service: Service<Request<()>, Response = Response<ResponseBody<Body>>, Error = Infallible>,
{
    let inner = tower::util::BoxCloneService::new(ok_service());
    layer.layer(inner).oneshot(req).await.unwrap()
}

/// Redis URL for tests; `None` (with the reason printed) when unreachable
/// outside CI, a panic under CI=true.
pub async fn redis_url() -> Option<String> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let ok = async {
        let client = redis::Client::open(url.as_str()).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    let reachable = tokio::time::timeout(std::time::Duration::from_secs(2), ok)
        .await
        .ok()
        .flatten()
        .is_some();
    if reachable {
        return Some(url);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("Redis at {url} is unreachable and CI=true");
    }
    eprintln!("skipped: Redis at {url} is unreachable");
    None
}

/// A key prefix unique to this test run and name.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("harden-test:{name}:{}:{nanos}", std::process::id())
}
