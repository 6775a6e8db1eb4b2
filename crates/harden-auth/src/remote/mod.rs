//! [`RemoteJwks`]: an identity provider's signing keys, fetched from its JWKS
//! URL, kept fresh, and refetched once per cooldown for an unknown `kid`.

mod builder;
mod fetch;
mod state;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::error::{AuthError, ConfigError};
use crate::key::{JwkPolicy, KeySet, sha256};

use self::state::{KeyState, Loaded, Rotation, Settings};

pub use self::builder::RemoteJwksBuilder;
pub use self::fetch::{FetchError, FetchErrorKind};

/// The most keys read from one remote document.
const MAX_KEYS: usize = 100;

type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The outcome of a fetch, once it ended.
type Outcome = Option<Result<(), FetchError>>;

/// The keys of an identity provider's JWKS, fetched over HTTPS, kept fresh,
/// and refetched once per cooldown for an unknown `kid`. Give it to
/// [`Issuer::remote`](crate::Issuer::remote).
///
/// Cloning is cheap: clones share the keys, the HTTP client and the state.
/// `Debug` shows the URL and the state, never key material.
///
/// ```
/// use harden_auth::{AuthLayer, Issuer, JwtVerifier, RemoteJwks};
/// use http::{Request, Response, StatusCode};
/// use std::convert::Infallible;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwks = RemoteJwks::builder("https://idp.example/.well-known/jwks.json").build()?;
/// let verifier = JwtVerifier::builder()
///     .issuer(Issuer::new("https://idp.example/").audience("orders-api").remote(jwks.clone()))
///     .build()?;
/// let svc = ServiceBuilder::new()
///     .layer(AuthLayer::builder(verifier).build()?)
///     .service(service_fn(|_req: Request<()>| async { Ok::<_, Infallible>(Response::new("ok")) }));
///
/// # use base64::Engine as _;
/// # let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
/// # let token = format!("{}.{}.c2lnbmF0dXJl",
/// #     b64(serde_json::json!({"alg": "ES256", "kid": "k1"})),
/// #     b64(serde_json::json!({"iss": "https://idp.example/", "aud": "orders-api", "sub": "u1", "exp": 4_102_444_800u64})));
/// // Nothing was fetched yet (a service would run `jwks.spawn_refresher()`),
/// // so a request with a token of that issuer is answered 503, never let through.
/// let req = Request::builder().header("authorization", format!("Bearer {token}")).body(())?;
/// let res = svc.oneshot(req).await?;
/// assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(res.headers()["retry-after"], "5");
/// assert!(!jwks.status().loaded);
/// # Ok(())
/// # }
/// ```
///
/// In a service, the refresh task is spawned at startup, and startup may wait
/// (briefly) for the first fetch, or not at all:
///
/// ```no_run
/// # use harden_auth::RemoteJwks;
/// # use std::time::Duration;
/// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
/// let jwks = RemoteJwks::builder("https://idp.example/.well-known/jwks.json").build()?;
/// let _refresh = jwks.spawn_refresher()?; // fetches now, then per max-age
/// if tokio::time::timeout(Duration::from_secs(2), jwks.fetch_now()).await.is_err() {
///     // Serve anyway: protected routes answer 503 until the keys load.
/// }
/// # Ok(())
/// # }
/// ```
///
/// # How keys are fetched
///
/// - `https://` only; `http://` only to a loopback host and only with
///   [`allow_insecure_loopback`](RemoteJwksBuilder::allow_insecure_loopback).
///   The URL comes from configuration, never from a token (`jku`, `x5u` and
///   `iss` are never fetched).
/// - One HTTP client per key set: redirects are not followed (a 3xx fails the
///   fetch), no cookies are kept, the whole exchange is bounded by a timeout
///   (5 s), the body by a cap (64 KiB), the document by 100 keys.
/// - Keys are checked as they load: RSA of at least 2048 bits, `kty`, `alg`
///   and `crv` consistent, `key_ops` allowing `verify`, no private material.
///   Symmetric (`oct`) keys are never taken from a remote set. `use: enc`
///   keys are ignored. A `kid` shared by several keys is ambiguous: every key
///   of that `kid` is dropped. A refused key is logged at `warn` (its `kid`
///   and why) and the others are used; a document with no usable key fails
///   the fetch.
/// - A key that did not change keeps its identity across refreshes, so the
///   tokens it verified stay cached; a key that left the set is retired, and
///   the tokens it verified are checked again (and refused).
///
/// # When keys are fetched
///
/// - The refresh task ([`refresher`](RemoteJwks::refresher), or
///   [`spawn_refresher`](RemoteJwks::spawn_refresher) to spawn it on the
///   current tokio runtime) fetches at once, then again when the response's
///   `Cache-Control: max-age` (less its `Age`) runs out, clamped to
///   [1 min, 24 h]; without `max-age`, every 10 minutes; with `no-cache` or
///   `no-store`, every minute. A failed fetch is retried after 1 s, doubling
///   up to the refresh interval.
/// - A token naming a `kid` the set does not hold waits for one refetch,
///   unless a fetch ended less than the cooldown (30 s) ago. Concurrent
///   callers share one fetch. A `kid` still unknown after a successful
///   fetch is remembered (up to 1,024 of them, forgotten at the next
///   successful fetch) and triggers no further fetch.
/// - Fetches are numbered; a fetch never overwrites the result of a newer one.
///
/// Every fetch runs on a task spawned on the current tokio runtime, bounded
/// by the timeout, so a caller that goes away cannot cancel a fetch others
/// wait for. Nothing else is spawned unless you call `spawn_refresher`.
///
/// # When keys are missing
///
/// Until the first fetch succeeds, and when refreshes have failed for
/// [`max_staleness`](RemoteJwksBuilder::max_staleness) (24 h) past the last
/// good set's refresh interval, verification fails closed with
/// [`AuthError::KeysUnavailable`]: [`AuthLayer`](crate::AuthLayer) answers
/// 503 with `Retry-After` (5 s by default), tokens verified earlier included.
/// Startup never waits for the identity provider unless you await
/// [`fetch_now`](RemoteJwks::fetch_now).
///
/// Fetch failures are logged at `warn` (target `harden_auth`) with the URL
/// and the reason; key changes at `info`, with each key's `kid`, algorithm
/// and fingerprint.
///
/// # Caveats
///
/// - The URL is trusted as configured: a name that resolves to a private or
///   loopback address is fetched. Configure the identity provider's URL,
///   never one derived from a request.
/// - An `https://` URL goes through the proxies named in the environment
///   (`HTTPS_PROXY`, `NO_PROXY`); a loopback one never does.
/// - Tokio's time driver must be enabled on the runtime (it is with
///   `#[tokio::main]`).
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

struct Inner {
    url: url::Url,
    shown: Arc<str>,
    client: reqwest::Client,
    settings: Settings,
    clock: Clock,
    state: RwLock<KeyState>,
    /// The running fetch, which later callers join.
    flight: Mutex<Option<watch::Receiver<Outcome>>>,
    next_seq: AtomicU64,
    /// Dropped with the last handle: ends the refresh task at once.
    alive: watch::Sender<()>,
}

/// A key set's health, for readiness checks and metrics.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwksStatus {
    /// Whether a key set was ever loaded.
    pub loaded: bool,
    /// Whether tokens can be verified now: loaded and not stale beyond the
    /// maximum staleness.
    pub usable: bool,
    /// How many keys the set holds.
    pub key_count: usize,
    /// When the last fetch succeeded (wall clock).
    pub last_success: Option<SystemTime>,
    /// How many fetches failed since the last success.
    pub consecutive_failures: u32,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<FetchError>,
    /// How many unknown `kid`s are remembered (they trigger no fetch until
    /// the next successful one).
    pub unknown_kids: usize,
}

/// The refresh task spawned by [`RemoteJwks::spawn_refresher`].
///
/// Dropping the handle does not stop the task: it runs until
/// [`abort`](RefreshHandle::abort) is called or every clone of its
/// [`RemoteJwks`] is dropped.
#[derive(Debug)]
pub struct RefreshHandle {
    task: tokio::task::JoinHandle<()>,
}

impl RefreshHandle {
    /// Stops the refresh task (a fetch already running completes).
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Whether a refetch may start a fetch during the cooldown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    Always,
    UnlessCoolingDown,
}

impl RemoteJwks {
    /// A builder for the key set published at `url` (an `https://` URL).
    pub fn builder(url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::new(url.into())
    }

    fn new(url: url::Url, client: reqwest::Client, settings: Settings, clock: Clock) -> Self {
        let shown: Arc<str> = url.as_str().into();
        RemoteJwks {
            inner: Arc::new(Inner {
                url,
                shown,
                client,
                settings,
                clock,
                state: RwLock::new(KeyState::default()),
                flight: Mutex::new(None),
                next_seq: AtomicU64::new(0),
                alive: watch::Sender::new(()),
            }),
        }
    }

    /// The JWKS URL.
    pub fn url(&self) -> &str {
        &self.inner.shown
    }

    /// The refresh task: fetches at once, then whenever the set's refresh
    /// interval ends, retrying failures with a backoff. Spawn it on a tokio
    /// runtime (or use [`spawn_refresher`](RemoteJwks::spawn_refresher)).
    ///
    /// It holds only a weak reference: it ends as soon as every clone of
    /// this `RemoteJwks` is dropped, even in the middle of a wait.
    pub fn refresher(&self) -> impl Future<Output = ()> + Send + 'static {
        let weak = Arc::downgrade(&self.inner);
        let mut alive = self.inner.alive.subscribe();
        async move {
            let mut fetched = false;
            loop {
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let mut wait = inner.until_due();
                if wait.is_zero() && !fetched {
                    let flight = inner.join_or_start(Start::Always);
                    drop(inner);
                    match flight {
                        Ok(Some(flight)) => {
                            let _ = wait_for(flight, &weak).await;
                        }
                        Ok(None) => {}
                        Err(_) => return,
                    }
                    fetched = true;
                    continue;
                }
                drop(inner);
                if wait.is_zero() {
                    // A fetch ended without moving the schedule (it was
                    // cancelled): do not spin.
                    wait = Duration::from_secs(1);
                }
                fetched = false;
                if tokio::time::timeout(wait, alive.changed()).await.is_ok() {
                    // The sender is gone: every handle was dropped.
                    return;
                }
            }
        }
    }

    /// Spawns [`refresher`](RemoteJwks::refresher) on the current tokio
    /// runtime: the one task this crate spawns for a key set besides its
    /// fetches.
    ///
    /// # Errors
    ///
    /// When called outside a tokio runtime.
    pub fn spawn_refresher(&self) -> Result<RefreshHandle, ConfigError> {
        let runtime = Handle::try_current()
            .map_err(|_| ConfigError::NoRuntime("RemoteJwks::spawn_refresher"))?;
        Ok(RefreshHandle {
            task: runtime.spawn(self.refresher()),
        })
    }

    /// Fetches the key set now, ignoring the cooldown, and waits for the
    /// outcome; joins the fetch already running, if any. For startup code
    /// that prefers to wait for keys (bound it with a timeout), and for
    /// tests.
    ///
    /// # Errors
    ///
    /// When the fetch fails (the last good set stays in use) or this is
    /// called outside a tokio runtime.
    pub async fn fetch_now(&self) -> Result<(), FetchError> {
        match self.inner.join_or_start(Start::Always)? {
            Some(flight) => wait_for(flight, &Arc::downgrade(&self.inner)).await,
            None => Ok(()),
        }
    }

    /// The key set's health: loaded, usable, how many keys, the last success
    /// and the last failure.
    pub fn status(&self) -> JwksStatus {
        let now = self.inner.now();
        let state = self.inner.read();
        JwksStatus {
            loaded: state.is_loaded(),
            usable: state.is_usable(now, &self.inner.settings),
            key_count: state.key_count(),
            last_success: state.last_success(),
            consecutive_failures: state.failures(),
            last_error: state.last_error().cloned(),
            unknown_kids: state.unknown_kids(),
        }
    }

    /// The current set: an error if none was loaded yet or the last one is
    /// stale beyond the maximum staleness (fail closed).
    pub(crate) fn current(&self) -> Result<Arc<KeySet>, AuthError> {
        self.inner
            .read()
            .current(self.inner.now(), &self.inner.settings)
    }

    /// Whether tokens verified earlier may still be trusted.
    pub(crate) fn is_usable(&self) -> bool {
        self.inner
            .read()
            .is_usable(self.inner.now(), &self.inner.settings)
    }

    /// Whether a token whose `kid` the set cannot verify should wait for
    /// [`refetch`](RemoteJwks::refetch).
    pub(crate) fn should_refetch(&self, kid: Option<&str>) -> bool {
        let in_flight = lock(&self.inner.flight).is_some();
        self.inner
            .read()
            .should_refetch(kid, self.inner.now(), in_flight, &self.inner.settings)
    }

    /// Joins the running fetch, or starts one unless the cooldown forbids;
    /// after a successful fetch that did not bring `kid`, remembers it.
    pub(crate) fn refetch(&self, kid: Option<String>) -> impl Future<Output = ()> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        async move {
            let flight = match inner.join_or_start(Start::UnlessCoolingDown) {
                Ok(Some(flight)) => flight,
                Ok(None) => return,
                Err(error) => {
                    tracing::debug!(target: "harden_auth", url = %inner.shown, %error, "JWKS refetch skipped");
                    return;
                }
            };
            let weak = Arc::downgrade(&inner);
            if wait_for(flight, &weak).await.is_ok()
                && let Some(kid) = kid
            {
                inner.write().remember_unknown(&kid);
            }
        }
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status();
        f.debug_struct("RemoteJwks")
            .field("url", &self.inner.shown)
            .field("loaded", &status.loaded)
            .field("usable", &status.usable)
            .field("key_count", &status.key_count)
            .field("consecutive_failures", &status.consecutive_failures)
            .finish_non_exhaustive()
    }
}

/// Waits for a fetch to end and returns its outcome.
async fn wait_for(
    mut flight: watch::Receiver<Outcome>,
    inner: &std::sync::Weak<Inner>,
) -> Result<(), FetchError> {
    let outcome = match flight.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone(),
        Err(_) => None,
    };
    outcome.unwrap_or_else(|| {
        let url = inner
            .upgrade()
            .map_or_else(|| Arc::from(""), |i| Arc::clone(&i.shown));
        Err(FetchError::new(
            FetchErrorKind::NoRuntime,
            url,
            "the fetch was cancelled (its runtime shut down)".to_owned(),
        ))
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Clears the running-fetch slot when the fetch task ends or is dropped.
struct FlightGuard(Arc<Inner>);

impl Drop for FlightGuard {
    fn drop(&mut self) {
        *lock(&self.0.flight) = None;
    }
}

impl Inner {
    fn now(&self) -> Instant {
        (self.clock)()
    }

    fn read(&self) -> RwLockReadGuard<'_, KeyState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, KeyState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long until the next fetch is due.
    fn until_due(&self) -> Duration {
        let due = self.read().due(&self.settings);
        due.map_or(Duration::ZERO, |due| {
            due.saturating_duration_since(self.now())
        })
    }

    /// The running fetch, or a new one (spawned on the current runtime)
    /// unless `start` forbids it during the cooldown (`None`).
    fn join_or_start(
        self: &Arc<Self>,
        start: Start,
    ) -> Result<Option<watch::Receiver<Outcome>>, FetchError> {
        let mut slot = lock(&self.flight);
        if let Some(flight) = slot.as_ref() {
            return Ok(Some(flight.clone()));
        }
        if start == Start::UnlessCoolingDown && self.read().in_cooldown(self.now(), &self.settings)
        {
            return Ok(None);
        }
        let runtime = Handle::try_current().map_err(|_| {
            FetchError::new(
                FetchErrorKind::NoRuntime,
                Arc::clone(&self.shown),
                "a fetch needs a tokio runtime".to_owned(),
            )
        })?;
        let (sender, receiver) = watch::channel(None);
        *slot = Some(receiver.clone());
        drop(slot);
        let seq = self
            .next_seq
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let guard = FlightGuard(Arc::clone(self));
        runtime.spawn(async move {
            let outcome = guard.0.fetch_and_apply(seq).await;
            sender.send_replace(Some(outcome));
            drop(guard);
        });
        Ok(Some(receiver))
    }

    /// One fetch, numbered `seq`, applied to the state.
    async fn fetch_and_apply(&self, seq: u64) -> Result<(), FetchError> {
        let s = &self.settings;
        // reqwest bounds the exchange already; this also bounds anything else.
        let fetched = tokio::time::timeout(
            s.timeout.saturating_add(Duration::from_secs(1)),
            fetch::get(&self.client, &self.url, &self.shown, s.max_body),
        )
        .await
        .unwrap_or_else(|_| {
            Err(FetchError::new(
                FetchErrorKind::Timeout,
                Arc::clone(&self.shown),
                "timed out".to_owned(),
            ))
        });
        let (body, freshness) = match fetched {
            Ok(fetched) => fetched,
            Err(error) => return Err(self.failed(seq, error)),
        };
        let fresh_for = s.refresh_interval(freshness);
        let digest = sha256(&body);
        let loaded = if self.read().digest() == Some(digest) {
            Loaded::Unchanged
        } else {
            let policy = JwkPolicy {
                allow_oct: false,
                lenient: true,
                rsa_default: s.rsa_default,
                max_keys: MAX_KEYS,
            };
            match KeySet::parse_jwks(&body, &self.shown, policy) {
                Ok((set, skipped)) => {
                    for (kid, reason) in skipped {
                        tracing::warn!(
                            target: "harden_auth",
                            url = %self.shown,
                            %kid,
                            %reason,
                            "JWKS key skipped"
                        );
                    }
                    Loaded::New { set, digest }
                }
                Err(error) => {
                    let error = FetchError::new(
                        FetchErrorKind::Invalid,
                        Arc::clone(&self.shown),
                        error.to_string(),
                    );
                    return Err(self.failed(seq, error));
                }
            }
        };
        let rotation =
            self.write()
                .apply_success(seq, loaded, fresh_for, self.now(), SystemTime::now());
        if let Some(rotation) = rotation {
            self.log_rotation(&rotation, fresh_for);
        }
        Ok(())
    }

    fn failed(&self, seq: u64, error: FetchError) -> FetchError {
        let now = self.now();
        let mut state = self.write();
        if state.apply_failure(seq, error.clone(), now) {
            let usable = state.is_usable(now, &self.settings);
            let failures = state.failures();
            drop(state);
            tracing::warn!(
                target: "harden_auth",
                url = %self.shown,
                kind = error.kind().as_str(),
                reason = %error,
                failures,
                keys_usable = usable,
                "JWKS fetch failed"
            );
        }
        error
    }

    fn log_rotation(&self, rotation: &Rotation, fresh_for: Duration) {
        let list = |labels: &[state::KeyLabel]| {
            labels
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if rotation.first {
            tracing::info!(
                target: "harden_auth",
                url = %self.shown,
                keys = %list(&rotation.added),
                refresh_secs = fresh_for.as_secs(),
                "JWKS loaded"
            );
        } else if !rotation.added.is_empty() || !rotation.removed.is_empty() {
            tracing::info!(
                target: "harden_auth",
                url = %self.shown,
                added = %list(&rotation.added),
                removed = %list(&rotation.removed),
                count = rotation.count,
                refresh_secs = fresh_for.as_secs(),
                "JWKS keys rotated"
            );
        } else {
            tracing::debug!(
                target: "harden_auth",
                url = %self.shown,
                refresh_secs = fresh_for.as_secs(),
                "JWKS refreshed"
            );
        }
    }
}
