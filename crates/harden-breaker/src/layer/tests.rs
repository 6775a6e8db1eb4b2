use std::convert::Infallible;
use std::time::Duration;

use harden_core::RequestId;
use http::HeaderValue;
use tower::{ServiceExt, service_fn};

use super::*;
use crate::ManualClock;

fn ok_service() -> impl Service<
    Request<()>,
    Response = Response<String>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<String>, Infallible>>,
> + Clone {
    service_fn(|_req: Request<()>| std::future::ready(Ok(Response::new(String::from("ok")))))
}

#[tokio::test]
async fn the_503_carries_the_request_id_and_no_retry_after_when_forced_open() {
    let b = Breaker::builder("l")
        .clock(ManualClock::new())
        .build()
        .unwrap();
    b.force_open();
    let mut req = Request::new(());
    req.extensions_mut()
        .insert(RequestId::from_header(&HeaderValue::from_static("req-9")).unwrap());
    let res = b.layer().layer(ok_service()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get(RETRY_AFTER).is_none());
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["requestId"], "req-9");
    assert_eq!(v["error"]["message"], "Service Unavailable");
}

#[tokio::test(start_paused = true)]
async fn the_504_carries_the_request_id_and_format() {
    let b = Breaker::builder("l")
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let slow = service_fn(|_req: Request<()>| async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let mut req = Request::new(());
    req.extensions_mut()
        .insert(RequestId::from_header(&HeaderValue::from_static("req-7")).unwrap());
    req.extensions_mut().insert(ErrorFormat::Problem);
    let res = b.layer().layer(slow).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["requestId"], "req-7");
}

#[tokio::test]
async fn a_request_without_a_key_passes_unguarded() {
    let registry = BreakerRegistry::new(Breaker::builder("k"), 4, Duration::from_secs(60)).unwrap();
    let layer = BreakerLayer::keyed(registry.clone(), |req: &Request<()>| {
        req.headers()
            .get("x-tenant")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let svc = layer.layer(ok_service());
    let res = svc.clone().oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(registry.is_empty());
    let req = Request::builder()
        .header("x-tenant", "t1")
        .body(())
        .unwrap();
    svc.oneshot(req).await.unwrap();
    assert_eq!(registry.len(), 1);
}

#[test]
fn retry_after_rounds_up_to_whole_seconds_and_is_at_least_one() {
    let open = |ms| Rejected::new(RejectReason::Open, Some(Duration::from_millis(ms)));
    assert_eq!(retry_after_secs(&open(0)), Some(1));
    assert_eq!(retry_after_secs(&open(1)), Some(1));
    assert_eq!(retry_after_secs(&open(1000)), Some(1));
    assert_eq!(retry_after_secs(&open(1001)), Some(2));
    let bulkhead = Rejected::new(RejectReason::Bulkhead, None);
    assert_eq!(retry_after_secs(&bulkhead), Some(1));
}

#[test]
fn debug_output_names_the_parts() {
    let b = Breaker::builder("dbg").build().unwrap();
    let svc = b.layer().layer(ok_service());
    let _ = format!("{:?}", b.layer());
    assert!(format!("{b:?}").contains("dbg"));
    let _ = svc.get_ref();
}
