//! The remote key set's state and its rules, with time passed in: what is
//! current, when it goes stale, when a refetch is allowed, when the next
//! refresh is due. No I/O and no tokio here.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::alg::Algorithm;
use crate::error::AuthError;
use crate::key::{Key, KeySet};

use super::FetchError;

/// The most unknown kids remembered between two successful fetches.
pub(super) const MAX_UNKNOWN_KIDS: usize = 1024;

/// The first retry after a failed fetch; each further failure doubles it, up
/// to the refresh interval.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The validated settings the rules read.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) timeout: Duration,
    pub(super) max_body: usize,
    pub(super) cooldown: Duration,
    pub(super) default_refresh: Duration,
    pub(super) min_refresh: Duration,
    pub(super) max_refresh: Duration,
    pub(super) max_staleness: Duration,
    pub(super) retry_after: Duration,
    pub(super) rsa_default: Option<Algorithm>,
}

/// How long the identity provider said its key set may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Freshness {
    /// `Cache-Control: max-age`, less the `Age` the response already had.
    MaxAge(Duration),
    /// `no-store` or `no-cache`: refresh as often as allowed.
    NoCache,
    /// No usable directive.
    Unspecified,
}

impl Settings {
    /// The refresh interval for a response: its max-age clamped to
    /// `[min_refresh, max_refresh]`, `min_refresh` for `no-cache`, else the
    /// default.
    pub(super) fn refresh_interval(&self, freshness: Freshness) -> Duration {
        match freshness {
            Freshness::MaxAge(age) => age.clamp(self.min_refresh, self.max_refresh),
            Freshness::NoCache => self.min_refresh,
            Freshness::Unspecified => self.default_refresh,
        }
    }
}

/// A successful fetch, ready to apply.
pub(super) enum Loaded {
    /// A new document, parsed.
    New { set: KeySet, digest: [u8; 32] },
    /// The same bytes as the set already loaded.
    Unchanged,
}

/// What a successful fetch changed, for the rotation log.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Rotation {
    pub(super) first: bool,
    pub(super) added: Vec<KeyLabel>,
    pub(super) removed: Vec<KeyLabel>,
    pub(super) count: usize,
}

/// A key as logs show it: kid, algorithm and fingerprint, never material.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct KeyLabel(String);

impl KeyLabel {
    fn of(key: &Key) -> Self {
        KeyLabel(format!(
            "{}/{}/{}",
            key.kid().unwrap_or("-"),
            key.algorithm(),
            key.fingerprint()
        ))
    }
}

impl std::fmt::Display for KeyLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a [`RemoteJwks`](super::RemoteJwks) knows about its key set.
#[derive(Debug, Default)]
pub(super) struct KeyState {
    keys: Option<Arc<KeySet>>,
    digest: Option<[u8; 32]>,
    /// The last successful fetch, on the injected clock and on the wall clock.
    fetched_at: Option<Instant>,
    fetched_wall: Option<SystemTime>,
    /// How long the loaded set is fresh after `fetched_at`.
    fresh_for: Duration,
    /// The end of the last fetch, successful or not (the cooldown starts here).
    last_attempt: Option<Instant>,
    failures: u32,
    last_error: Option<FetchError>,
    unknown: HashSet<Box<str>>,
    /// The sequence number of the newest fetch applied.
    applied: u64,
}

impl KeyState {
    /// The set to verify with, unless none was ever loaded or it went stale
    /// beyond `max_staleness` (fail closed).
    pub(super) fn current(&self, now: Instant, s: &Settings) -> Result<Arc<KeySet>, AuthError> {
        match &self.keys {
            Some(keys) if self.within_staleness(now, s) => Ok(Arc::clone(keys)),
            _ => Err(AuthError::KeysUnavailable {
                retry_after: s.retry_after,
            }),
        }
    }

    /// Whether a set is loaded and not stale beyond `max_staleness`.
    pub(super) fn is_usable(&self, now: Instant, s: &Settings) -> bool {
        self.keys.is_some() && self.within_staleness(now, s)
    }

    fn within_staleness(&self, now: Instant, s: &Settings) -> bool {
        let Some(fetched_at) = self.fetched_at else {
            return false;
        };
        // An instant beyond what the platform can represent is "never".
        fetched_at
            .checked_add(self.fresh_for)
            .and_then(|t| t.checked_add(s.max_staleness))
            .is_none_or(|limit| now <= limit)
    }

    /// Whether the last fetch ended less than a cooldown ago.
    pub(super) fn in_cooldown(&self, now: Instant, s: &Settings) -> bool {
        self.last_attempt
            .and_then(|t| t.checked_add(s.cooldown))
            .is_some_and(|end| now < end)
    }

    /// Whether a token naming `kid`, which the current set cannot verify,
    /// may wait for a refetch: not if the set holds that kid (under another
    /// algorithm) or the kid is remembered as unknown; otherwise when a fetch
    /// is already running (to share it) or the cooldown has passed.
    pub(super) fn should_refetch(
        &self,
        kid: Option<&str>,
        now: Instant,
        in_flight: bool,
        s: &Settings,
    ) -> bool {
        if let Some(kid) = kid {
            let known = self
                .keys
                .as_ref()
                .is_some_and(|keys| keys.get(kid).is_some());
            if known || self.unknown.contains(kid) {
                return false;
            }
        }
        in_flight || !self.in_cooldown(now, s)
    }

    /// Remembers `kid` as unknown after a successful fetch did not bring it,
    /// so it triggers no further fetch until the next successful one. At most
    /// [`MAX_UNKNOWN_KIDS`] are kept; beyond that, only the cooldown limits.
    pub(super) fn remember_unknown(&mut self, kid: &str) {
        let known = self
            .keys
            .as_ref()
            .is_some_and(|keys| keys.get(kid).is_some());
        if !known && self.unknown.len() < MAX_UNKNOWN_KIDS {
            self.unknown.insert(kid.into());
        }
    }

    /// When the next fetch is due (`None`: now). After a success, when the
    /// set's refresh interval ends; after failures, not before a backoff of
    /// 1 s doubling per failure, capped at the refresh interval.
    pub(super) fn due(&self, s: &Settings) -> Option<Instant> {
        let fresh_until = self.fetched_at.and_then(|t| t.checked_add(self.fresh_for));
        if self.failures == 0 {
            return fresh_until;
        }
        let interval = if self.keys.is_some() {
            self.fresh_for
        } else {
            s.default_refresh
        };
        let doubling = FIRST_RETRY.saturating_mul(1u32 << self.failures.saturating_sub(1).min(20));
        let retry_at = self
            .last_attempt
            .and_then(|t| t.checked_add(doubling.min(interval)));
        match (fresh_until, retry_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The digest of the document the loaded set came from.
    pub(super) fn digest(&self) -> Option<[u8; 32]> {
        self.digest
    }

    /// Applies fetch number `seq`'s document, unless a newer fetch was
    /// applied already (then `None`). Unchanged keys keep their identity, so
    /// tokens verified with them stay cached; removed keys are retired.
    pub(super) fn apply_success(
        &mut self,
        seq: u64,
        loaded: Loaded,
        fresh_for: Duration,
        now: Instant,
        wall: SystemTime,
    ) -> Option<Rotation> {
        if seq <= self.applied {
            return None;
        }
        self.applied = seq;
        let mut rotation = Rotation::default();
        if let Loaded::New { set, digest } = loaded {
            let set = match &self.keys {
                Some(old) => {
                    let new = set.carry_over(old);
                    rotation.added = new
                        .keys()
                        .map(KeyLabel::of)
                        .filter(|label| !old.keys().any(|o| KeyLabel::of(o) == *label))
                        .collect();
                    rotation.removed = old
                        .keys()
                        .filter(|k| k.is_retired())
                        .map(KeyLabel::of)
                        .collect();
                    new
                }
                None => {
                    rotation.first = true;
                    rotation.added = set.keys().map(KeyLabel::of).collect();
                    set
                }
            };
            rotation.count = set.len();
            self.keys = Some(Arc::new(set));
            self.digest = Some(digest);
        }
        self.fetched_at = Some(now);
        self.fetched_wall = Some(wall);
        self.fresh_for = fresh_for;
        self.last_attempt = Some(now);
        self.failures = 0;
        self.last_error = None;
        self.unknown.clear();
        Some(rotation)
    }

    /// Records failed fetch number `seq`, unless a newer fetch was applied
    /// already. The loaded set is kept.
    pub(super) fn apply_failure(&mut self, seq: u64, error: FetchError, now: Instant) -> bool {
        if seq <= self.applied {
            return false;
        }
        self.applied = seq;
        self.last_attempt = Some(now);
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(error);
        true
    }

    pub(super) fn key_count(&self) -> usize {
        self.keys.as_ref().map_or(0, |k| k.len())
    }

    pub(super) fn is_loaded(&self) -> bool {
        self.keys.is_some()
    }

    pub(super) fn last_success(&self) -> Option<SystemTime> {
        self.fetched_wall
    }

    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    pub(super) fn last_error(&self) -> Option<&FetchError> {
        self.last_error.as_ref()
    }

    pub(super) fn unknown_kids(&self) -> usize {
        self.unknown.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::FetchErrorKind;

    fn settings() -> Settings {
        Settings {
            timeout: Duration::from_secs(5),
            max_body: 64 * 1024,
            cooldown: Duration::from_secs(30),
            default_refresh: Duration::from_secs(600),
            min_refresh: Duration::from_secs(60),
            max_refresh: Duration::from_secs(86_400),
            max_staleness: Duration::from_secs(3_600),
            retry_after: Duration::from_secs(5),
            rsa_default: Some(Algorithm::RS256),
        }
    }

    fn set(kids: &[(&str, u8)]) -> KeySet {
        KeySet::new(kids.iter().map(|(kid, seed)| {
            Key::hmac(Algorithm::HS256, &[*seed; 32])
                .unwrap()
                .with_kid(*kid)
                .unwrap()
        }))
        .unwrap()
    }

    fn new(kids: &[(&str, u8)], digest: u8) -> Loaded {
        Loaded::New {
            set: set(kids),
            digest: [digest; 32],
        }
    }

    fn error() -> FetchError {
        FetchError::new(
            FetchErrorKind::Status,
            "https://idp.example/jwks",
            "status 500".into(),
        )
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn nothing_loaded_fails_closed_with_the_configured_retry_after() {
        let s = settings();
        let state = KeyState::default();
        let now = Instant::now();
        assert_eq!(
            state.current(now, &s).unwrap_err(),
            AuthError::KeysUnavailable {
                retry_after: Duration::from_secs(5)
            }
        );
        assert!(!state.is_usable(now, &s));
        assert_eq!(state.due(&s), None, "a first fetch is due at once");
    }

    #[test]
    fn a_failed_refresh_keeps_the_set_until_max_staleness_after_its_max_age() {
        let s = settings();
        let mut state = KeyState::default();
        let t0 = Instant::now();
        state.apply_success(1, new(&[("a", 1)], 1), 10 * MIN, t0, SystemTime::now());
        assert!(state.apply_failure(2, error(), t0 + 10 * MIN));
        // Stale but within max_staleness (1 h after the 10 min max-age).
        let late = t0 + 10 * MIN + 60 * MIN;
        assert!(state.current(late, &s).is_ok());
        assert!(state.is_usable(late, &s));
        // One second later: fail closed.
        let later = late + Duration::from_secs(1);
        assert!(matches!(
            state.current(later, &s),
            Err(AuthError::KeysUnavailable { .. })
        ));
        assert!(!state.is_usable(later, &s));
        // A successful fetch restores it.
        state.apply_success(3, new(&[("a", 1)], 1), 10 * MIN, later, SystemTime::now());
        assert!(state.current(later, &s).is_ok());
    }

    #[test]
    fn an_older_fetch_never_overwrites_a_newer_one() {
        let s = settings();
        let mut state = KeyState::default();
        let now = Instant::now();
        assert!(
            state
                .apply_success(2, new(&[("new", 2)], 2), MIN, now, SystemTime::now())
                .is_some()
        );
        assert!(
            state
                .apply_success(1, new(&[("old", 1)], 1), MIN, now, SystemTime::now())
                .is_none()
        );
        assert!(!state.apply_failure(1, error(), now));
        let keys = state.current(now, &s).unwrap();
        assert!(keys.get("new").is_some() && keys.get("old").is_none());
        assert_eq!(state.failures(), 0);
    }

    #[test]
    fn refetches_wait_for_the_cooldown_unless_one_is_in_flight() {
        let s = settings();
        let mut state = KeyState::default();
        let t0 = Instant::now();
        state.apply_success(1, new(&[("a", 1)], 1), 10 * MIN, t0, SystemTime::now());
        assert!(!state.should_refetch(Some("b"), t0 + Duration::from_secs(29), false, &s));
        assert!(state.should_refetch(Some("b"), t0 + Duration::from_secs(29), true, &s));
        assert!(state.should_refetch(Some("b"), t0 + Duration::from_secs(30), false, &s));
        assert!(state.should_refetch(None, t0 + Duration::from_secs(30), false, &s));
        // A kid the set holds (under another algorithm) is no reason to refetch.
        assert!(!state.should_refetch(Some("a"), t0 + 5 * MIN, false, &s));
        // A failed fetch starts a cooldown too.
        state.apply_failure(2, error(), t0 + MIN);
        assert!(!state.should_refetch(Some("b"), t0 + MIN + Duration::from_secs(10), false, &s));
    }

    #[test]
    fn unknown_kids_are_remembered_until_the_next_successful_fetch() {
        let s = settings();
        let mut state = KeyState::default();
        let t0 = Instant::now();
        state.apply_success(1, new(&[("a", 1)], 1), 10 * MIN, t0, SystemTime::now());
        state.remember_unknown("ghost");
        state.remember_unknown("a");
        assert_eq!(state.unknown_kids(), 1);
        assert!(!state.should_refetch(Some("ghost"), t0 + 5 * MIN, false, &s));
        assert!(state.should_refetch(Some("other"), t0 + 5 * MIN, false, &s));
        state.apply_failure(2, error(), t0 + 5 * MIN);
        assert_eq!(state.unknown_kids(), 1, "a failure keeps the memory");
        state.apply_success(
            3,
            Loaded::Unchanged,
            10 * MIN,
            t0 + 6 * MIN,
            SystemTime::now(),
        );
        assert_eq!(state.unknown_kids(), 0);
    }

    #[test]
    fn the_unknown_kid_memory_is_bounded() {
        let mut state = KeyState::default();
        state.apply_success(
            1,
            new(&[("a", 1)], 1),
            MIN,
            Instant::now(),
            SystemTime::now(),
        );
        for i in 0..3 * MAX_UNKNOWN_KIDS {
            state.remember_unknown(&format!("kid-{i}"));
        }
        assert_eq!(state.unknown_kids(), MAX_UNKNOWN_KIDS);
    }

    #[test]
    fn failures_back_off_from_one_second_up_to_the_refresh_interval() {
        let s = settings();
        let mut state = KeyState::default();
        let t0 = Instant::now();
        let mut seq = 0;
        let mut delays = Vec::new();
        for _ in 0..12 {
            seq += 1;
            state.apply_failure(seq, error(), t0);
            delays.push(state.due(&s).unwrap() - t0);
        }
        let secs: Vec<u64> = delays.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);

        // With a fresh set, a failed refetch never pulls the refresh earlier.
        let mut state = KeyState::default();
        state.apply_success(1, new(&[("a", 1)], 1), 10 * MIN, t0, SystemTime::now());
        state.apply_failure(2, error(), t0 + MIN);
        assert_eq!(state.due(&s), Some(t0 + 10 * MIN));
    }

    #[test]
    fn refresh_intervals_follow_max_age_within_the_clamps() {
        let s = settings();
        let secs = |d: u64| Duration::from_secs(d);
        assert_eq!(s.refresh_interval(Freshness::MaxAge(secs(5))), secs(60));
        assert_eq!(
            s.refresh_interval(Freshness::MaxAge(secs(3_600))),
            secs(3_600)
        );
        assert_eq!(
            s.refresh_interval(Freshness::MaxAge(secs(9_999_999))),
            secs(86_400)
        );
        assert_eq!(s.refresh_interval(Freshness::NoCache), secs(60));
        assert_eq!(s.refresh_interval(Freshness::Unspecified), secs(600));
    }

    #[test]
    fn a_rotation_reports_added_and_removed_keys_and_retires_the_removed() {
        let mut state = KeyState::default();
        let now = Instant::now();
        let first = state
            .apply_success(
                1,
                new(&[("a", 1), ("b", 2)], 1),
                MIN,
                now,
                SystemTime::now(),
            )
            .unwrap();
        assert!(first.first);
        assert_eq!(first.added.len(), 2);
        let s = settings();
        let old_b = state.current(now, &s).unwrap().get("b").unwrap().clone();
        let old_a = state.current(now, &s).unwrap().get("a").unwrap().clone();
        let next = state
            .apply_success(
                2,
                new(&[("a", 1), ("c", 3)], 2),
                MIN,
                now,
                SystemTime::now(),
            )
            .unwrap();
        assert!(!next.first);
        assert_eq!(next.count, 2);
        assert_eq!(next.added.len(), 1);
        assert!(next.added[0].to_string().starts_with("c/HS256/"));
        assert_eq!(next.removed.len(), 1);
        assert!(next.removed[0].to_string().starts_with("b/HS256/"));
        assert!(old_b.is_retired());
        assert!(!old_a.is_retired());
    }
}
