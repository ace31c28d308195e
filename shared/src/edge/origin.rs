//! Who may call the functions, and whose address a request comes from.
//!
//! Deployed alone, the HTTP API is called directly and API Gateway's
//! `sourceIp` is the client. Deployed behind CloudFront and AWS WAF
//! (`EdgeProtection` in the template), `sourceIp` is a CloudFront edge, and
//! the API's own URL stays reachable around the WAF: so CloudFront sends a
//! secret header with every request, a request without it is refused, and
//! the client's address is read from the header CloudFront's viewer-request
//! function sets, which overwrites any a client sends.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use ring::digest::{digest, SHA256};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{vars, ConfigError, Env};
use crate::ApiError;

/// The header that proves a request came through the deployment's CloudFront.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";
/// The header holding the client's address as CloudFront saw it.
pub const VIEWER_IP_HEADER: &str = "x-viewer-ip";
/// The shortest origin secret taken: it is all that keeps the WAF in the way.
pub const MIN_ORIGIN_SECRET_LENGTH: usize = 32;

/// Where requests come from.
#[derive(Debug)]
pub enum Origin {
    /// API Gateway is called directly: `sourceIp` is the client.
    Direct,
    /// Only CloudFront may call: it proves itself with one of these secrets
    /// (the current one, and while it is rotated, the one it replaces).
    CloudFront { secrets: Vec<SecretString> },
}

impl Origin {
    /// `EDGE_ORIGIN_SECRET`: set when the deployment has CloudFront in
    /// front, to the accepted secrets, comma-separated.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let Some(value) = env.optional(vars::EDGE_ORIGIN_SECRET) else {
            return Ok(Origin::Direct);
        };
        let secrets: Vec<&str> = value.split(',').map(str::trim).filter(|secret| !secret.is_empty()).collect();
        let invalid = |reason: String| ConfigError::Invalid { name: vars::EDGE_ORIGIN_SECRET, reason };
        if secrets.is_empty() {
            return Err(invalid("no secret is given".to_owned()));
        }
        if secrets.iter().any(|secret| secret.chars().count() < MIN_ORIGIN_SECRET_LENGTH) {
            return Err(invalid(format!("each secret needs at least {MIN_ORIGIN_SECRET_LENGTH} characters")));
        }
        Ok(Origin::CloudFront { secrets: secrets.into_iter().map(|secret| secret.to_owned().into()).collect() })
    }

    /// Admits a request from this origin, with the client's address in its
    /// `sourceIp`, or refuses it: a request that did not come through
    /// CloudFront, or that came without the client's address.
    pub fn admit(&self, mut request: Request) -> Result<Request, ApiError> {
        let Origin::CloudFront { secrets } = self else {
            return Ok(request);
        };
        let presented = request.headers_mut().remove(ORIGIN_VERIFY_HEADER);
        // Digests compared, not the secrets: how long the comparison takes
        // tells nothing of a secret.
        let proven = presented.is_some_and(|value| {
            let presented = digest(&SHA256, value.as_bytes());
            let matches = |secret: &SecretString| {
                digest(&SHA256, secret.expose_secret().as_bytes()).as_ref() == presented.as_ref()
            };
            secrets.iter().map(matches).fold(false, |any, this| any | this)
        });
        if !proven {
            tracing::warn!("request refused: it did not come through the deployment's CloudFront");
            return Err(ApiError::Forbidden);
        }
        let viewer = request.headers().get(VIEWER_IP_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let viewer = viewer.filter(|address| address.parse::<std::net::IpAddr>().is_ok()).ok_or_else(|| {
            ApiError::internal("CloudFront sent no client address: is the viewer-request function attached?")
        })?;
        if let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() {
            let mut context = context.clone();
            context.http.source_ip = Some(viewer);
            request = request.with_request_context(RequestContext::ApiGatewayV2(context));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::StatusCode;

    use super::*;
    use crate::edge::{client, status_of};
    use crate::test_support::Fixture;

    const SECRET: &str = "an-origin-secret-of-thirty-two-characters";

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut fixture = Fixture::parse(include_str!("../../../functions/login/fixtures/login.json"));
        for (name, value) in headers {
            fixture = fixture.header(name, value);
        }
        fixture.request()
    }

    fn cloudfront() -> Origin {
        Origin::from_env(&Env::from_pairs([(vars::EDGE_ORIGIN_SECRET, SECRET)])).unwrap()
    }

    #[test]
    fn a_direct_deployment_trusts_api_gateway_and_no_header() {
        let origin = Origin::from_env(&Env::from_pairs::<&str, &str>([])).unwrap();
        let sent = request(&[(VIEWER_IP_HEADER, "198.51.100.7")]);
        let api_gateways = client(&sent).source_ip;
        let admitted = origin.admit(sent).unwrap();
        assert_eq!(client(&admitted).source_ip, api_gateways);
        assert_ne!(api_gateways, "198.51.100.7", "a client's own header is no address");
    }

    #[test]
    fn behind_cloudfront_a_request_without_the_secret_is_refused() {
        for headers in [vec![], vec![(ORIGIN_VERIFY_HEADER, "a-guess-of-thirty-two-characters-or-more")]] {
            let mut headers = headers;
            headers.push((VIEWER_IP_HEADER, "198.51.100.7"));
            let err = cloudfront().admit(request(&headers)).unwrap_err();
            assert_eq!((status_of(&err), err.code()), (StatusCode::FORBIDDEN, "forbidden"));
        }
    }

    #[test]
    fn behind_cloudfront_the_client_is_the_viewer() {
        let sent = request(&[(ORIGIN_VERIFY_HEADER, SECRET), (VIEWER_IP_HEADER, "2001:db8::7")]);
        let admitted = cloudfront().admit(sent).unwrap();
        assert_eq!(client(&admitted).source_ip, "2001:db8::7");
        assert!(admitted.headers().get(ORIGIN_VERIFY_HEADER).is_none(), "the secret goes no further");
    }

    #[test]
    fn behind_cloudfront_a_request_without_a_viewer_address_is_a_fault() {
        for headers in
            [vec![(ORIGIN_VERIFY_HEADER, SECRET)], vec![(ORIGIN_VERIFY_HEADER, SECRET), (VIEWER_IP_HEADER, "x")]]
        {
            let err = cloudfront().admit(request(&headers)).unwrap_err();
            assert_eq!(status_of(&err), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }

    #[test]
    fn while_the_secret_is_rotated_the_one_it_replaces_is_accepted_too() {
        const NEXT: &str = "the-next-origin-secret-of-thirty-two-or-more";
        let env = Env::from_pairs([(vars::EDGE_ORIGIN_SECRET, format!("{NEXT},{SECRET}"))]);
        let origin = Origin::from_env(&env).unwrap();
        for secret in [NEXT, SECRET] {
            let sent = request(&[(ORIGIN_VERIFY_HEADER, secret), (VIEWER_IP_HEADER, "198.51.100.7")]);
            assert!(origin.admit(sent).is_ok(), "{secret}");
        }
        // The template joins the current and the previous secret, which may be empty.
        let env = Env::from_pairs([(vars::EDGE_ORIGIN_SECRET, format!("{SECRET},"))]);
        assert!(matches!(Origin::from_env(&env).unwrap(), Origin::CloudFront { secrets } if secrets.len() == 1));
    }

    #[test]
    fn a_short_or_missing_secret_is_refused_at_start() {
        for value in ["short", ",", format!("{SECRET},short").as_str()] {
            let env = Env::from_pairs([(vars::EDGE_ORIGIN_SECRET, value)]);
            assert!(Origin::from_env(&env).is_err(), "{value}");
        }
    }
}
