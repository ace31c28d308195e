//! One full TLS handshake per host at a cold start, not one per concurrent
//! call.
//!
//! Most functions read two items at once (the caller's session and user), so
//! the first invocation of a new environment would open two connections to
//! DynamoDB side by side and pay a full TLS handshake for each, at a
//! fraction of a vCPU (7 % at 128 MB; login made three). Until a host has
//! been called once, its calls here go one at a time: the first opens the
//! connection, which is back in the pool when its response has been read,
//! and the calls that came while it was opening then take it one after the
//! other: a round trip each, cheaper than a handshake each. Calls made after
//! that go straight through and run concurrently as before; a connection
//! they open resumes the first one's TLS session. `bench/RESULTS.md` gives
//! what it saves.
//!
//! A failed call opens the gate: when the host cannot be reached, the calls
//! behind it are delayed once, by at most that call's attempt, and then go
//! on together as they would without the gate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{HttpClient, SharedHttpClient};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

/// `inner`, with each host's calls taken one at a time until it has answered.
pub fn one_handshake_per_host(inner: SharedHttpClient) -> SharedHttpClient {
    FirstConnectionAlone { inner, hosts: Arc::default() }.into_shared()
}

#[derive(Debug)]
struct FirstConnectionAlone {
    inner: SharedHttpClient,
    hosts: Arc<Hosts>,
}

/// By scheme and authority (`https://dynamodb.eu-west-1.amazonaws.com`).
type Hosts = Mutex<HashMap<String, Arc<Host>>>;

#[derive(Debug, Default)]
struct Host {
    /// Set once a call to the host has ended, answered or not.
    called: AtomicBool,
    /// Set when a call that held the gate failed: the calls waiting behind
    /// it no longer wait for one another.
    failed: AtomicBool,
    /// Held by the call that opens the first connection.
    opening: tokio::sync::Mutex<()>,
}

impl HttpClient for FirstConnectionAlone {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(Gated { inner, hosts: self.hosts.clone() })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.inner.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct Gated {
    inner: SharedHttpConnector,
    hosts: Arc<Hosts>,
}

impl Gated {
    fn host(&self, uri: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        hosts.entry(origin_of(uri).to_owned()).or_default().clone()
    }
}

impl HttpConnector for Gated {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let host = self.host(request.uri());
        if host.called.load(Ordering::Acquire) {
            return self.inner.call(request);
        }
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            // Calls that came while the first connection was opening go one
            // at a time on it too: each would open a connection of its own.
            let alone = host.opening.lock().await;
            if host.failed.load(Ordering::Acquire) {
                drop(alone);
                return inner.call(request).await;
            }
            let response = read_whole(inner.call(request).await).await;
            host.failed.store(response.is_err(), Ordering::Release);
            host.called.store(true, Ordering::Release);
            // hyper puts the connection back in its pool from a task of its
            // own once the body has been read: let it run before the next
            // call asks for a connection.
            tokio::task::yield_now().await;
            response
        })
    }
}

/// The response with its body read to the end, so that its connection is
/// free for the next call.
async fn read_whole(response: Result<HttpResponse, ConnectorError>) -> Result<HttpResponse, ConnectorError> {
    use aws_smithy_types::byte_stream::ByteStream;
    let mut response = response?;
    let body = std::mem::replace(response.body_mut(), SdkBody::taken());
    let bytes = ByteStream::new(body).collect().await.map_err(|err| ConnectorError::io(err.into()))?;
    *response.body_mut() = SdkBody::from(bytes.into_bytes());
    Ok(response)
}

/// `https://host:port` of `https://host:port/path?query`.
fn origin_of(uri: &str) -> &str {
    let after_scheme = uri.find("://").map_or(0, |at| at + 3);
    match uri[after_scheme..].find('/') {
        Some(at) => &uri[..after_scheme + at],
        None => uri,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use aws_smithy_runtime_api::client::http::HttpConnector;
    use aws_smithy_runtime_api::http::{Response, StatusCode};

    use super::*;

    #[test]
    fn the_origin_is_scheme_and_authority() {
        assert_eq!(origin_of("https://dynamodb.eu-west-1.amazonaws.com/"), "https://dynamodb.eu-west-1.amazonaws.com");
        assert_eq!(origin_of("http://127.0.0.1:8000/a?b"), "http://127.0.0.1:8000");
        assert_eq!(
            origin_of("https://secretsmanager.eu-west-1.amazonaws.com"),
            "https://secretsmanager.eu-west-1.amazonaws.com"
        );
    }

    /// Answers after 20 ms, counting the calls in flight at once, and
    /// noting how many had been answered when each started.
    #[derive(Debug, Default)]
    struct Slow {
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
        answered: AtomicUsize,
        answered_at_start: Mutex<Vec<usize>>,
        fail_first: bool,
    }

    #[derive(Debug)]
    struct SlowConnector(Arc<Slow>);

    impl HttpConnector for SlowConnector {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let slow = self.0.clone();
            HttpConnectorFuture::new(async move {
                let now = slow.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                slow.most_in_flight.fetch_max(now, Ordering::SeqCst);
                let first = {
                    let mut starts = slow.answered_at_start.lock().unwrap();
                    starts.push(slow.answered.load(Ordering::SeqCst));
                    starts.len() == 1
                };
                tokio::time::sleep(Duration::from_millis(20)).await;
                slow.in_flight.fetch_sub(1, Ordering::SeqCst);
                slow.answered.fetch_add(1, Ordering::SeqCst);
                if slow.fail_first && first {
                    return Err(aws_smithy_runtime_api::client::result::ConnectorError::io("refused".into()));
                }
                Ok(Response::new(StatusCode::try_from(200).unwrap(), SdkBody::from("{}")))
            })
        }
    }

    fn gated(slow: &Arc<Slow>) -> Gated {
        Gated { inner: SharedHttpConnector::new(SlowConnector(slow.clone())), hosts: Arc::default() }
    }

    fn request(uri: &str) -> HttpRequest {
        let mut request = HttpRequest::new(SdkBody::empty());
        request.set_uri(uri).unwrap();
        request
    }

    async fn concurrently(gated: &Gated, uris: &[&str]) -> Vec<bool> {
        let calls = uris.iter().map(|uri| gated.call(request(uri)));
        futures_util::future::join_all(calls).await.into_iter().map(|r| r.is_ok()).collect()
    }

    #[tokio::test]
    async fn the_first_calls_to_a_host_go_one_at_a_time_then_together() {
        let slow = Arc::new(Slow::default());
        let gated = gated(&slow);
        let host = "https://dynamodb.eu-west-1.amazonaws.com/";
        assert_eq!(concurrently(&gated, &[host, host, host]).await, [true; 3]);
        // Each started once the one before had answered.
        assert_eq!(*slow.answered_at_start.lock().unwrap(), [0, 1, 2]);
        assert_eq!(slow.most_in_flight.load(Ordering::SeqCst), 1);
        // Answered once: all together.
        assert_eq!(concurrently(&gated, &[host, host, host]).await, [true; 3]);
        assert_eq!(slow.most_in_flight.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn each_host_opens_its_first_connection_alone() {
        let slow = Arc::new(Slow::default());
        let gated = gated(&slow);
        let dynamodb = "https://dynamodb.eu-west-1.amazonaws.com/";
        let secrets = "https://secretsmanager.eu-west-1.amazonaws.com/";
        assert_eq!(concurrently(&gated, &[dynamodb, dynamodb]).await, [true; 2]);
        assert_eq!(concurrently(&gated, &[secrets, secrets]).await, [true; 2]);
        assert_eq!(*slow.answered_at_start.lock().unwrap(), [0, 1, 2, 3], "a new host's first call alone too");
    }

    #[tokio::test]
    async fn after_a_failed_first_call_the_calls_go_together() {
        let slow = Arc::new(Slow { fail_first: true, ..Slow::default() });
        let gated = gated(&slow);
        let host = "https://dynamodb.eu-west-1.amazonaws.com/";
        assert_eq!(concurrently(&gated, &[host, host, host]).await, [false, true, true]);
        // Delayed once, behind the failed call, then not held one by one.
        assert_eq!(*slow.answered_at_start.lock().unwrap(), [0, 1, 1]);
        assert_eq!(slow.most_in_flight.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_body_arrives_whole() {
        let slow = Arc::new(Slow::default());
        let response = gated(&slow).call(request("https://dynamodb.eu-west-1.amazonaws.com/")).await.unwrap();
        assert_eq!(response.body().bytes(), Some(&b"{}"[..]));
    }
}
