//! Work a function finishes after its answer is sent, so that the answer's
//! time does not depend on it: the recovery request answers every name alike
//! at once, then looks the account up and mails it.
//!
//! Lambda freezes an environment once its runtime and every extension have
//! asked for the next event. An internal extension registered for `INVOKE`
//! events holds each invocation open until its handler has returned and the
//! work it spawned is done; the client has had its answer by then, and
//! Lambda reports the time as `PostRuntimeExtensionsDuration`. Where there
//! is no extension API to register with, the work runs all the same (the
//! process is not frozen there).

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_extension::{Extension, LambdaEvent, NextEvent};
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use tokio::sync::Notify;
use tracing::Instrument;

use super::serve::answer;
use super::Origin;
use crate::ApiError;

/// How long an invocation may wait for this process's handler to take it up.
const HANDLER_START_GRACE: Duration = Duration::from_secs(1);

/// The work spawned after answering, and the invocations whose handler has
/// returned. Clones share their state.
#[derive(Clone)]
pub struct AfterResponse {
    state: Arc<State>,
    /// Whether an internal extension holds invocations open for the work.
    hold: bool,
}

impl Default for AfterResponse {
    fn default() -> Self {
        AfterResponse { state: Arc::default(), hold: true }
    }
}

#[derive(Default)]
struct State {
    running: AtomicUsize,
    /// Handlers started and not yet returned.
    handling: AtomicUsize,
    answered: Mutex<HashSet<String>>,
    changed: Notify,
}

impl AfterResponse {
    /// Held open by an internal extension, but under a local emulator
    /// (`LOCAL_EMULATOR` set, as local runs set it): `cargo lambda watch`
    /// gives every function's invocations to every extension and holds each
    /// until all of them let it go, so one function's extension would hold
    /// every other function's invocations; and locally no process is frozen,
    /// so the work finishes all the same.
    pub fn from_env(env: &crate::config::Env) -> Self {
        AfterResponse { hold: env.optional(crate::config::vars::LOCAL_EMULATOR).is_none(), ..Self::default() }
    }

    /// Runs `work` on its own task, to finish after the answer is sent.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let state = self.state.clone();
        state.running.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            work.await;
            state.running.fetch_sub(1, Ordering::SeqCst);
            state.changed.notify_waiters();
        });
    }

    /// Waits until no spawned work is running.
    pub async fn idle(&self) {
        loop {
            let changed = self.state.changed.notified();
            if self.state.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            changed.await;
        }
    }

    fn handling(&self) {
        self.state.handling.fetch_add(1, Ordering::SeqCst);
    }

    fn answered(&self, request_id: String) {
        self.state.handling.fetch_sub(1, Ordering::SeqCst);
        self.state.answered.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(request_id);
        self.state.changed.notify_waiters();
    }

    /// Waits until the handler of `request_id` has returned and the work
    /// then running is done, or until `deadline`. Lambda gives the runtime
    /// and the extension the same invocation at once, so its handler starts
    /// within moments: an invocation no handler of this process takes up
    /// within [`HANDLER_START_GRACE`] is not this process's (a local
    /// emulator may give one extension every function's invocations), and
    /// is let go.
    async fn finished(&self, request_id: &str, deadline: Duration) {
        let ours = async {
            let unclaimed_since = tokio::time::Instant::now();
            loop {
                let changed = self.state.changed.notified();
                let answered =
                    self.state.answered.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(request_id);
                if answered {
                    return true;
                }
                let waited = unclaimed_since.elapsed();
                if self.state.handling.load(Ordering::SeqCst) == 0 && waited >= HANDLER_START_GRACE {
                    return false;
                }
                let _ = tokio::time::timeout(HANDLER_START_GRACE.saturating_sub(waited), changed).await;
            }
        };
        let held = async {
            match ours.await {
                true => self.idle().await,
                false => tracing::debug!(request_id, "an invocation no handler here took up"),
            }
        };
        let until = deadline.saturating_sub(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default());
        if tokio::time::timeout(until, held).await.is_err() {
            tracing::warn!(request_id, "work after the answer ran to the invocation's deadline");
        }
    }
}

/// [`super::serve`], for a function whose handler spawns work on
/// `after_response`: the internal extension holds each invocation open
/// until that work is done.
pub async fn serve_after_response<'a, App, F, Fut>(
    origin: Origin,
    app: &'a App,
    handle: F,
    after_response: &AfterResponse,
) -> Result<(), lambda_http::Error>
where
    App: Sync,
    F: Fn(&'a App, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'a,
{
    let holder = after_response.clone();
    if !after_response.hold {
        return lambda_http::run(service_fn(|request: Request| {
            let handled = origin.admit(request).map(|request| handle(app, request));
            async move { Ok::<_, Infallible>(answer(handled).await) }
        }))
        .await;
    }
    let extension = Extension::new()
        .with_events(&["INVOKE"])
        .with_events_processor(lambda_extension::service_fn(move |event: LambdaEvent| {
            let holder = holder.clone();
            async move {
                if let NextEvent::Invoke(invoke) = event.next {
                    let span = tracing::info_span!("after the answer", requestId = %invoke.request_id);
                    let deadline = Duration::from_millis(invoke.deadline_ms);
                    holder.finished(&invoke.request_id, deadline).instrument(span).await;
                }
                Ok::<_, lambda_extension::Error>(())
            }
        }))
        .with_extension_name("after-response")
        .register()
        .await;
    let runtime = lambda_http::run(service_fn(|request: Request| {
        let request_id = request.lambda_context_ref().map(|context| context.request_id.clone());
        after_response.handling();
        let handled = origin.admit(request).map(|request| handle(app, request));
        let after_response = after_response.clone();
        async move {
            let response = answer(handled).await;
            after_response.answered(request_id.unwrap_or_default());
            Ok::<_, Infallible>(response)
        }
    }));
    match extension {
        Ok(extension) => {
            let (served, _) = tokio::join!(runtime, extension.run());
            served
        }
        Err(err) => {
            tracing::warn!(error = %err, "no extension API: work after the answer is not held open");
            runtime.await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_emulator_holds_nothing_open() {
        use crate::config::{vars, Env};
        assert!(AfterResponse::from_env(&Env::from_pairs([("AWS_REGION", "eu-west-1")])).hold);
        assert!(!AfterResponse::from_env(&Env::from_pairs([(vars::LOCAL_EMULATOR, "cargo-lambda-watch")])).hold);
    }

    #[tokio::test]
    async fn idle_waits_for_the_spawned_work() {
        let after = AfterResponse::default();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let done = done.clone();
            after.spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        after.idle().await;
        assert_eq!(done.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_invocation_is_held_until_its_handler_returned_and_its_work_is_done() {
        let after = AfterResponse::default();
        let far = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60);
        let held = {
            let after = after.clone();
            tokio::spawn(async move { after.finished("r1", far).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!held.is_finished(), "released before the handler returned");
        let (gate, opened) = tokio::sync::oneshot::channel::<()>();
        after.spawn(async move {
            let _ = opened.await;
        });
        after.handling();
        after.answered("r1".into());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!held.is_finished(), "released before the work was done");
        gate.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), held).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn an_invocation_is_released_at_its_deadline() {
        let after = AfterResponse::default();
        after.handling();
        let soon = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_millis(50);
        tokio::time::timeout(Duration::from_secs(5), after.finished("never answered", soon)).await.unwrap();
    }

    #[tokio::test]
    async fn an_invocation_no_handler_takes_up_is_let_go() {
        let after = AfterResponse::default();
        let far = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60);
        let started = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(5), after.finished("another function's", far)).await.unwrap();
        assert!(started.elapsed() >= HANDLER_START_GRACE);
    }
}
