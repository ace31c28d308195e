//! Sequential round trips: a proxy in front of DynamoDB Local that holds
//! every answer for a fixed delay and counts the waves of calls. A wave
//! begins when a call arrives while none is in flight; calls a function makes
//! at once overlap under the delay and make one wave, calls made one after
//! the other make one each. So a warm invocation's waves are the round trips
//! to DynamoDB it waits for one after the other: its latency in AWS, where
//! each costs milliseconds, is that many round trips beside its own work.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::http1::{read_request, read_response};
use crate::BoxError;

/// How long every answer is held: far longer than DynamoDB Local's own time
/// and than the gap between calls a function starts at once.
const HOLD: Duration = Duration::from_millis(25);

/// The calls and waves since the last [`RoundTripMeter::take`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundTrips {
    pub calls: usize,
    pub waves: usize,
}

#[derive(Default)]
struct Counts {
    in_flight: usize,
    counted: RoundTrips,
}

pub struct RoundTripMeter {
    pub endpoint: String,
    counts: Arc<Mutex<Counts>>,
}

impl RoundTripMeter {
    /// Starts the proxy in front of `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Result<Self, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let counts = Arc::new(Mutex::new(Counts::default()));
        let (shared, upstream) = (counts.clone(), upstream.to_owned());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(relay(stream, upstream.clone(), shared.clone()));
            }
        });
        Ok(RoundTripMeter { endpoint, counts })
    }

    /// The calls and waves counted since the last take; counting starts anew.
    pub fn take(&self) -> RoundTrips {
        let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut counts.counted)
    }
}

/// Relays one client connection's requests to a connection of its own to
/// the upstream, each answer held until [`HOLD`] after its request came.
async fn relay(client: TcpStream, upstream: String, counts: Arc<Mutex<Counts>>) {
    let Ok(server) = TcpStream::connect(&upstream).await else { return };
    let _ = server.set_nodelay(true);
    let (client_read, mut client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    let (mut from_client, mut from_server) = (BufReader::new(client_read), BufReader::new(server_read));
    while let Some(request) = read_request(&mut from_client).await {
        let arrived = tokio::time::Instant::now();
        {
            let mut counts = counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            counts.counted.calls += 1;
            counts.counted.waves += usize::from(counts.in_flight == 0);
            counts.in_flight += 1;
        }
        let answered = async {
            server_write.write_all(&request.to_bytes()).await.ok()?;
            read_response(&mut from_server).await
        };
        let response = answered.await;
        tokio::time::sleep_until(arrived + HOLD).await;
        // Out of flight before the answer is sent: a call the function makes
        // on reading it starts a new wave.
        counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).in_flight -= 1;
        let written = match &response {
            Some(bytes) => client_write.write_all(bytes).await.is_ok(),
            None => false,
        };
        if !written {
            return;
        }
    }
    // Drains what the upstream may still send, so it closes cleanly.
    let _ = from_server.read_to_end(&mut Vec::new()).await;
}
