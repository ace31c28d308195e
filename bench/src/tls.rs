//! DynamoDB over TLS: a test CA made at run time, and a TLS terminator with
//! its certificate in front of DynamoDB Local.
//!
//! The chain is shaped like DynamoDB's own: an RSA-2048 leaf for the
//! endpoint under an RSA-2048 intermediate under an RSA-2048 root, so a
//! client verifies as many signatures of the same kind as it does in AWS.
//! Only the functions built with the `bench-test-ca` feature trust the root.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::crypto::{ring, CryptoProvider, SupportedKxGroup};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::NoServerSessionStorage;
use tokio_rustls::rustls::{HandshakeKind, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::BoxError;

/// The files of a test CA and of the endpoint's certificate it issued.
pub struct TestCa {
    /// The root, which the bench build of the functions trusts.
    pub root: PathBuf,
    /// The endpoint's certificate, then the intermediate's.
    chain: PathBuf,
    key: PathBuf,
}

impl TestCa {
    /// Makes a root, an intermediate and a certificate for 127.0.0.1 in `dir`,
    /// with the system's `openssl`, valid for a day.
    pub fn create(dir: &Path) -> Result<Self, BoxError> {
        std::fs::create_dir_all(dir)?;
        let file = |name: &str| dir.join(name);
        let ca_extensions = file("ca.ext");
        std::fs::write(&ca_extensions, "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")?;
        let leaf_extensions = file("leaf.ext");
        std::fs::write(
            &leaf_extensions,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )?;
        let openssl = |args: &[&str]| -> Result<(), BoxError> {
            let output = std::process::Command::new("openssl").args(args).current_dir(dir).output()?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!("openssl {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr)).into())
            }
        };
        let new_key =
            |name: &str| openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", name]);
        new_key("root.key")?;
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-days",
            "1",
            "-subj",
            "/CN=user-auth bench test root",
            "-extensions",
            "v3_ca",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "root.pem",
        ])?;
        // An intermediate, then the endpoint's certificate, each signed by the one above.
        for (name, subject, issuer, extensions) in [
            ("intermediate", "/CN=user-auth bench test intermediate", "root", "ca.ext"),
            ("leaf", "/CN=localhost", "intermediate", "leaf.ext"),
        ] {
            new_key(&format!("{name}.key"))?;
            openssl(&[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                subject,
                "-out",
                &format!("{name}.csr"),
            ])?;
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{issuer}.pem"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-CAcreateserial",
                "-days",
                "1",
                "-sha256",
                "-extfile",
                extensions,
                "-out",
                &format!("{name}.pem"),
            ])?;
        }
        let chain = file("chain.pem");
        std::fs::write(&chain, [std::fs::read(file("leaf.pem"))?, std::fs::read(file("intermediate.pem"))?].concat())?;
        Ok(TestCa { root: file("root.pem"), chain, key: file("leaf.key") })
    }
}

/// How the terminator handshakes and keeps connections: the levers the
/// benchmark measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terminating {
    /// The key-exchange group the server insists on. A client sends a key
    /// share for its first group only (X25519, for rustls); a server that
    /// wants another answers with a HelloRetryRequest, a round trip more.
    pub group: Group,
    /// Whether a client that comes back resumes its TLS session.
    pub resumption: bool,
    /// Closes a connection idle this long, so the next call reconnects.
    pub idle_close: Option<Duration>,
}

impl Terminating {
    /// As a client of DynamoDB would meet it at best: the client's own group,
    /// resumption, connections kept.
    pub const USUAL: Terminating = Terminating { group: Group::X25519, resumption: true, idle_close: None };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    X25519,
    P256,
}

impl Group {
    fn supported(self) -> &'static dyn SupportedKxGroup {
        match self {
            Group::X25519 => ring::kx_group::X25519,
            Group::P256 => ring::kx_group::SECP256R1,
        }
    }
}

/// A TLS terminator on loopback in front of `upstream`, in this process.
pub struct Terminator {
    /// `https://127.0.0.1:<port>`.
    pub endpoint: String,
    /// TLS handshakes completed so far: all, and those that resumed a session.
    handshakes: Arc<AtomicUsize>,
    resumed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Terminator {
    pub async fn start(ca: &TestCa, upstream: &str, how: Terminating) -> Result<Self, BoxError> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(&ca.chain)?.collect::<Result<_, _>>()?;
        let key = PrivateKeyDer::from_pem_file(&ca.key)?;
        let provider = CryptoProvider { kx_groups: vec![how.group.supported()], ..ring::default_provider() };
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        if !how.resumption {
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("https://{}", listener.local_addr()?);
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let (handshakes, resumed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counted = (handshakes.clone(), resumed.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, upstream, counted) = (acceptor.clone(), upstream.clone(), counted.clone());
                tokio::spawn(async move {
                    let _ = client.set_nodelay(true);
                    let Ok(client) = acceptor.accept(client).await else { return };
                    counted.0.fetch_add(1, Ordering::SeqCst);
                    if client.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed) {
                        counted.1.fetch_add(1, Ordering::SeqCst);
                    }
                    let Ok(server) = TcpStream::connect(&upstream).await else { return };
                    let _ = server.set_nodelay(true);
                    relay(client, server, how.idle_close).await;
                });
            }
        });
        Ok(Terminator { endpoint, handshakes, resumed, task })
    }

    /// Handshakes so far: all of them, and those that were full (not resumed).
    pub fn handshakes(&self) -> Handshakes {
        let all = self.handshakes.load(Ordering::SeqCst);
        Handshakes { all, full: all - self.resumed.load(Ordering::SeqCst) }
    }
}

#[derive(Clone, Copy, Default)]
pub struct Handshakes {
    pub all: usize,
    pub full: usize,
}

impl std::ops::Sub for Handshakes {
    type Output = Handshakes;
    fn sub(self, earlier: Handshakes) -> Handshakes {
        Handshakes { all: self.all - earlier.all, full: self.full - earlier.full }
    }
}

impl Drop for Terminator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies both ways until either side closes, or until neither has sent
/// anything for `idle_close`.
async fn relay(client: impl AsyncRead + AsyncWrite, server: impl AsyncRead + AsyncWrite, idle_close: Option<Duration>) {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = tokio::io::split(server);
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let idle = idle_close.unwrap_or(Duration::from_secs(3600));
    loop {
        tokio::select! {
            read = client_read.read(&mut up) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => if server_write.write_all(&up[..n]).await.is_err() { break },
            },
            read = server_read.read(&mut down) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => if client_write.write_all(&down[..n]).await.is_err() || client_write.flush().await.is_err() { break },
            },
            _ = tokio::time::sleep(idle) => break,
        }
    }
    let _ = client_write.shutdown().await;
}
