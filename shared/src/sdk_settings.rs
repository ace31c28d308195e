//! The AWS SDK's settings, read from what Lambda gives every function.
//!
//! Lambda puts the region and the execution role's credentials in the
//! environment (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`). That is all a function needs, so the SDK is configured
//! from those variables directly rather than through `aws-config`, whose
//! provider chains (profile files, SSO, STS, instance metadata) a function
//! never uses but would still load, link and run at every cold start.
//!
//! `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL` for every service)
//! points a service elsewhere, as the SDK documents it: DynamoDB Local.

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider, SharedHttpClient};
use aws_types::SdkConfig;

use crate::config::{vars, ConfigError, Env};

mod first_connection;

/// Retries are few and timeouts short: a Lambda behind API Gateway has 30 s in
/// all, and a fast 503 is more useful to a client than a slow one.
pub const MAX_ATTEMPTS: u32 = 3;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// The root CAs of the AWS endpoints the functions call. Trusting these
/// alone spares each cold start from reading and parsing the whole system
/// certificate store, the largest part of its init time.
const AWS_ROOT_CAS: &[u8] = include_bytes!("../certs/aws-root-cas.pem");

/// The AWS services the functions call, by the name the SDK gives their
/// endpoint variable (`AWS_ENDPOINT_URL_<NAME>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    SecretsManager,
    SesV2,
    /// The operators' tool asks who its caller is; no function calls it.
    Sts,
}

impl Service {
    const ALL: [Service; 4] = [Service::DynamoDb, Service::SecretsManager, Service::SesV2, Service::Sts];

    fn endpoint_variable(self) -> &'static str {
        match self {
            Service::DynamoDb => vars::AWS_ENDPOINT_URL_DYNAMODB,
            Service::SecretsManager => vars::AWS_ENDPOINT_URL_SECRETS_MANAGER,
            Service::SesV2 => vars::AWS_ENDPOINT_URL_SESV2,
            Service::Sts => vars::AWS_ENDPOINT_URL_STS,
        }
    }
}

/// Region, credentials and endpoint overrides, and one HTTPS client shared by
/// every SDK client built from it.
#[derive(Clone)]
pub struct SdkSettings {
    region: Region,
    credentials: Credentials,
    endpoint_urls: Vec<(Service, String)>,
    http_client: SharedHttpClient,
}

impl SdkSettings {
    /// From the environment, as Lambda sets it.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let region = env
            .optional(vars::AWS_REGION)
            .or_else(|| env.optional(vars::AWS_DEFAULT_REGION))
            .ok_or(ConfigError::Missing { name: vars::AWS_REGION })?;
        let credentials = Credentials::new(
            env.required(vars::AWS_ACCESS_KEY_ID)?,
            env.required(vars::AWS_SECRET_ACCESS_KEY)?,
            env.optional(vars::AWS_SESSION_TOKEN),
            None,
            "environment",
        );
        let endpoint_urls = Service::ALL
            .into_iter()
            .filter_map(|service| {
                let url = env.optional(service.endpoint_variable()).or_else(|| env.optional(vars::AWS_ENDPOINT_URL));
                url.map(|url| (service, url))
            })
            .collect();
        Ok(SdkSettings { region: Region::new(region), credentials, endpoint_urls, http_client: https_client() })
    }

    /// Every service at `endpoint_url` (DynamoDB Local, or moto server's
    /// SES), with dummy credentials: for tests and the benchmark.
    pub fn local(endpoint_url: &str) -> Self {
        let endpoint_urls = Service::ALL.into_iter().map(|service| (service, endpoint_url.to_owned())).collect();
        SdkSettings {
            region: Region::from_static("eu-west-1"),
            credentials: Credentials::new("local", "local", None, None, "local"),
            endpoint_urls,
            http_client: https_client(),
        }
    }

    /// The configuration of one service's client, with the service's
    /// explicit retry and timeout settings.
    pub fn sdk_config(&self, service: Service) -> SdkConfig {
        let mut builder = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(self.region.clone())
            .credentials_provider(SharedCredentialsProvider::new(self.credentials.clone()))
            .http_client(self.http_client.clone())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            );
        if let Some((_, url)) = self.endpoint_urls.iter().find(|(for_service, _)| *for_service == service) {
            builder = builder.endpoint_url(url);
        }
        builder.build()
    }
}

/// An HTTPS client (rustls with ring) that trusts only [`AWS_ROOT_CAS`] and
/// takes a host's first calls one at a time, so that a cold start pays one
/// full TLS handshake per host ([`first_connection`]).
fn https_client() -> SharedHttpClient {
    #[cfg(feature = "bench-test-ca")]
    if std::env::var_os(BENCH_EVERY_CALL_CONNECTS).is_some() {
        return rustls_client();
    }
    first_connection::one_handshake_per_host(rustls_client())
}

fn rustls_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
    let trust_store = TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOT_CAS);
    #[cfg(feature = "bench-test-ca")]
    let trust_store = bench_test_ca::add_to(trust_store);
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(trust_store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(err) => {
            tracing::warn!(error = %err, "cannot build the AWS trust store; using the system's");
            builder.build_https()
        }
    }
}

/// The benchmark's TLS mode puts a terminator with a certificate of its own
/// test CA, made at run time, in front of DynamoDB Local. Only binaries
/// built with the `bench-test-ca` feature (by `scripts/bench --tls`, never by
/// `sam build`) read that CA, from the file the variable names; in any other
/// build this code and the variable's name are not there at all, which the
/// arm64 smoke test checks in the deployed artifacts.
#[cfg(feature = "bench-test-ca")]
mod bench_test_ca {
    use aws_smithy_http_client::tls::TrustStore;

    use super::{BENCH_SYSTEM_ROOTS, BENCH_TEST_CA_FILE};

    /// The test CA; and the system's roots as well when asked, which the
    /// benchmark measures as the trust store the service does not use.
    pub fn add_to(trust_store: TrustStore) -> TrustStore {
        let trust_store = trust_store.with_native_roots(std::env::var_os(BENCH_SYSTEM_ROOTS).is_some());
        match std::env::var_os(BENCH_TEST_CA_FILE) {
            Some(path) => match std::fs::read(&path) {
                Ok(pem) => trust_store.with_pem_certificate(pem),
                Err(err) => panic!("{BENCH_TEST_CA_FILE}: cannot read {}: {err}", path.to_string_lossy()),
            },
            None => trust_store,
        }
    }
}

/// The variables only a `bench-test-ca` build reads: the test CA's file;
/// whether to trust the system's roots too; whether concurrent first calls
/// each open a connection, as without [`first_connection`]. Named here for
/// the benchmark and for the check that no deployed artifact contains them.
pub const BENCH_TEST_CA_FILE: &str = "USER_AUTH_BENCH_TEST_CA_FILE";
pub const BENCH_SYSTEM_ROOTS: &str = "USER_AUTH_BENCH_SYSTEM_ROOTS";
pub const BENCH_EVERY_CALL_CONNECTS: &str = "USER_AUTH_BENCH_EVERY_CALL_CONNECTS";
pub const BENCH_ONLY_VARIABLES: [&str; 3] = [BENCH_TEST_CA_FILE, BENCH_SYSTEM_ROOTS, BENCH_EVERY_CALL_CONNECTS];

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    use super::*;

    fn settings(pairs: &[(&'static str, &str)]) -> Result<SdkSettings, ConfigError> {
        SdkSettings::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    const CREDENTIALS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "secret")];

    #[test]
    fn the_aws_root_cas_parse() {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(AWS_ROOT_CAS).collect::<Result<_, _>>().unwrap();
        // Amazon Root CA 1 to 4 and Starfield Services Root G2.
        assert_eq!(certs.len(), 5);
        assert!(certs.iter().all(|der| der.len() > 400));
    }

    #[test]
    fn region_and_credentials_are_required() {
        assert!(matches!(settings(&CREDENTIALS), Err(ConfigError::Missing { name: "AWS_REGION" })));
        assert!(matches!(
            settings(&[("AWS_REGION", "eu-west-1"), CREDENTIALS[1]]),
            Err(ConfigError::Missing { name: "AWS_ACCESS_KEY_ID" })
        ));
        assert!(matches!(
            settings(&[("AWS_REGION", "eu-west-1"), CREDENTIALS[0]]),
            Err(ConfigError::Missing { name: "AWS_SECRET_ACCESS_KEY" })
        ));
    }

    #[test]
    fn the_region_falls_back_to_aws_default_region() {
        let settings = settings(&[("AWS_DEFAULT_REGION", "us-east-2"), CREDENTIALS[0], CREDENTIALS[1]]).unwrap();
        let config = settings.sdk_config(Service::DynamoDb);
        assert_eq!(config.region().map(|region| region.as_ref()), Some("us-east-2"));
        assert_eq!(config.endpoint_url(), None, "no override: the service's real endpoint");
    }

    #[test]
    fn a_service_endpoint_overrides_the_general_one() {
        let settings = settings(&[
            ("AWS_REGION", "eu-west-1"),
            CREDENTIALS[0],
            CREDENTIALS[1],
            ("AWS_ENDPOINT_URL", "http://general:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb:2"),
        ])
        .unwrap();
        assert_eq!(settings.sdk_config(Service::DynamoDb).endpoint_url(), Some("http://dynamodb:2"));
        assert_eq!(settings.sdk_config(Service::SecretsManager).endpoint_url(), Some("http://general:1"));
    }

    #[test]
    fn retries_and_timeouts_are_the_services_own() {
        let config = SdkSettings::local("http://127.0.0.1:1").sdk_config(Service::DynamoDb);
        assert_eq!(config.retry_config().map(|retry| retry.max_attempts()), Some(MAX_ATTEMPTS));
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
    }
}
