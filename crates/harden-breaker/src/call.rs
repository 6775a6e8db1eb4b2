//! [`Call`]: the future of [`Breaker::call`](crate::Breaker::call), its
//! error, and how results are classified.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::breaker::Permit;
use crate::machine::{Outcome, RejectReason, Rejected};

/// Decides what a call's result counts as. Any `FnOnce(&Result<T, E>) ->
/// Outcome` is one; [`ErrorsFail`] is the default.
pub trait Classify<T, E> {
    /// The outcome `result` stands for.
    fn classify(self, result: &Result<T, E>) -> Outcome;
}

impl<T, E, F> Classify<T, E> for F
where
    F: FnOnce(&Result<T, E>) -> Outcome,
{
    fn classify(self, result: &Result<T, E>) -> Outcome {
        self(result)
    }
}

/// The default classification: `Ok` is a success, `Err` a failure.
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorsFail;

impl<T, E> Classify<T, E> for ErrorsFail {
    fn classify(self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

/// Why a guarded call did not return the inner future's result.
#[derive(Debug)]
#[non_exhaustive]
pub enum BreakerError<E> {
    /// The breaker or the bulkhead refused the call; it never started.
    Rejected(Rejected),
    /// The call ran out of time and was dropped; counted as a failure.
    Timeout(Duration),
    /// The call returned this error.
    Inner(E),
}

impl<E> BreakerError<E> {
    /// The inner error, if the call itself failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            BreakerError::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the call never started.
    pub fn is_rejected(&self) -> bool {
        matches!(self, BreakerError::Rejected(_))
    }
}

impl<E: fmt::Display> fmt::Display for BreakerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakerError::Rejected(r) => r.fmt(f),
            BreakerError::Timeout(d) => write!(f, "call timed out after {} ms", d.as_millis()),
            BreakerError::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: Error + 'static> Error for BreakerError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BreakerError::Rejected(r) => Some(r),
            BreakerError::Timeout(_) => None,
            BreakerError::Inner(e) => Some(e),
        }
    }
}

pin_project! {
    /// The future of [`Breaker::call`](crate::Breaker::call): the guarded
    /// future's result, or a [`BreakerError`].
    ///
    /// Dropping it before it ends records a cancellation and gives the permit
    /// back.
    #[must_use = "futures do nothing unless polled"]
    pub struct Call<Fut, C> {
        #[pin]
        kind: Kind<Fut, C>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<Fut, C> {
        Rejected { rejected: Rejected },
        Running {
            #[pin]
            future: Fut,
            // Boxed, and only once the call is still pending after its first
            // poll: a call that is ready at once (or runs untimed) never pays
            // for the timer, nor carries its 100-odd bytes around.
            sleep: Option<Pin<Box<Sleep>>>,
            permit: Option<Permit>,
            classify: Option<C>,
            timeout: Option<Duration>,
        },
        Done,
    }
}

impl<Fut, C> Call<Fut, C> {
    pub(crate) fn running(
        future: Fut,
        permit: Permit,
        classify: C,
        timeout: Option<Duration>,
    ) -> Self {
        Call {
            kind: Kind::Running {
                future,
                sleep: None,
                permit: Some(permit),
                classify: Some(classify),
                timeout,
            },
        }
    }

    pub(crate) fn rejected(rejected: Rejected) -> Self {
        Call {
            kind: Kind::Rejected { rejected },
        }
    }
}

impl<Fut, C> fmt::Debug for Call<Fut, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Rejected { .. } => "rejected",
            Kind::Running { .. } => "running",
            Kind::Done => "done",
        };
        f.debug_struct("Call").field("kind", &kind).finish()
    }
}

impl<Fut, C, T, E> Future for Call<Fut, C>
where
    Fut: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
{
    type Output = Result<T, BreakerError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let limit = match this.kind.as_mut().project() {
            KindProj::Rejected { rejected } => {
                return Poll::Ready(Err(BreakerError::Rejected(*rejected)));
            }
            KindProj::Done => return Poll::Ready(Err(BreakerError::Rejected(spent()))),
            KindProj::Running {
                future,
                sleep,
                permit,
                classify,
                timeout,
            } => {
                let Some(guard) = permit.as_mut() else {
                    return Poll::Ready(Err(BreakerError::Rejected(spent())));
                };
                guard.polling = true;
                let polled = future.poll(cx);
                guard.polling = false;
                if let Poll::Ready(result) = polled {
                    let outcome = match classify.take() {
                        Some(c) => c.classify(&result),
                        None => Outcome::Failure,
                    };
                    if let Some(p) = permit.take() {
                        p.record(outcome);
                    }
                    return Poll::Ready(result.map_err(BreakerError::Inner));
                }
                let Some(limit) = *timeout else {
                    return Poll::Pending;
                };
                match poll_deadline(limit, sleep, permit, cx) {
                    Deadline::Pending => return Poll::Pending,
                    Deadline::NoTimer => {
                        *timeout = None;
                        return Poll::Pending;
                    }
                    Deadline::Expired => limit,
                }
            }
        };
        // Drops the inner future now: a timed-out call stops running.
        this.kind.set(Kind::Done);
        Poll::Ready(Err(BreakerError::Timeout(limit)))
    }
}

/// Where a pending call stands against its deadline.
pub(crate) enum Deadline {
    /// Still within it.
    Pending,
    /// No runtime with timers on this thread: the call runs untimed.
    NoTimer,
    /// Passed: the timeout is recorded on the permit, which is given back.
    Expired,
}

/// Polls the deadline of a call whose future is pending: arms the timer at
/// the first pending poll (when the runtime has timers) and, when it fires,
/// records the timeout once. Shared by [`Breaker::call`](crate::Breaker::call)
/// and the layer's future.
pub(crate) fn poll_deadline(
    limit: Duration,
    sleep: &mut Option<Pin<Box<Sleep>>>,
    permit: &mut Option<Permit>,
    cx: &mut Context<'_>,
) -> Deadline {
    let timer = match sleep {
        Some(timer) => timer,
        None => {
            if !permit
                .as_ref()
                .is_some_and(|p| p.breaker().timer_available())
            {
                return Deadline::NoTimer;
            }
            sleep.insert(Box::pin(tokio::time::sleep(limit)))
        }
    };
    if timer.as_mut().poll(cx).is_pending() {
        return Deadline::Pending;
    }
    if let Some(p) = permit.take() {
        p.record(Outcome::Timeout);
    }
    Deadline::Expired
}

/// What a call polled again after it ended answers: it never runs twice.
fn spent() -> Rejected {
    Rejected::new(RejectReason::ForcedOpen, None)
}
