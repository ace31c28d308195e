//! `GET /app` and `GET /app/{file}`: the hosted pages, a single page
//! application (sign up, sign in, recovery, the account) that calls the API
//! on its own origin. Its files are compiled into the binary.

use lambda_http::{Body, Request, Response};
use ring::digest::{digest, SHA256};
use user_auth_core::config::Env;
use user_auth_core::edge::static_file;
use user_auth_core::{ApiError, BoxError};

/// A file of the pages, as it is served.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// A strong validator: the file's digest, so a cache revalidates for
    /// nothing but a 304 until a deployment changes the file.
    etag: String,
}

/// The document itself is revalidated at every load, so that a deployment
/// is seen at once; the files it loads may be kept a few minutes.
const DOCUMENT_CACHE: &str = "no-cache";
const FILE_CACHE: &str = "public, max-age=300";

/// The files, built once per process.
pub struct Pages {
    assets: Vec<Asset>,
}

const FILES: [(&str, &str, &[u8]); 4] = [
    ("index.html", "text/html; charset=utf-8", include_bytes!("../assets/index.html")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../assets/app.css")),
    ("icon.svg", "image/svg+xml", include_bytes!("../assets/icon.svg")),
];

/// The production wiring: `main` serves what this builds, and the tests
/// build it the same way. The pages read no configuration: they call the
/// API on the origin that served them.
pub async fn build(_env: &Env) -> Result<Pages, BoxError> {
    let assets = FILES
        .iter()
        .map(|(name, content_type, body)| {
            let sum = digest(&SHA256, body);
            let hex: String = sum.as_ref()[..16].iter().map(|byte| format!("{byte:02x}")).collect();
            Asset { name, content_type, body, etag: format!("\"{hex}\"") }
        })
        .collect();
    Ok(Pages { assets })
}

pub async fn handle(app: &Pages, request: Request) -> Result<Response<Body>, ApiError> {
    // `/app` and `/app/` are the document; `/app/<file>` one of its files.
    let path = request.uri().path();
    let name = match path.strip_prefix("/app").unwrap_or(path).trim_start_matches('/') {
        "" => "index.html",
        name => name,
    };
    let asset = app.assets.iter().find(|asset| asset.name == name).ok_or(ApiError::NotFound)?;
    let cache = if asset.name == "index.html" { DOCUMENT_CACHE } else { FILE_CACHE };
    let if_none_match = request.headers().get("if-none-match").and_then(|value| value.to_str().ok());
    Ok(static_file(asset.content_type, asset.body, &asset.etag, cache, if_none_match))
}

#[cfg(test)]
mod tests {
    use lambda_http::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG};
    use user_auth_core::edge::PAGE_CONTENT_SECURITY_POLICY;
    use user_auth_core::test_support::Fixture;

    use super::*;

    fn event(path: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/pages.json")).path(path, None)
    }

    async fn get(fixture: Fixture) -> Response<Body> {
        let app = build(&Env::from_pairs::<&str, &str>([])).await.unwrap();
        handle(&app, fixture.request()).await.unwrap_or_else(|err| user_auth_core::edge::error_response(&err))
    }

    fn text(response: &Response<Body>) -> String {
        String::from_utf8(response.body().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn serves_the_document_at_app_and_app_slash_with_a_strict_policy() {
        for path in ["/app", "/app/", "/app/index.html"] {
            let response = get(event(path)).await;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
            let policies: Vec<_> = response.headers().get_all(CONTENT_SECURITY_POLICY).iter().collect();
            assert_eq!(policies, [PAGE_CONTENT_SECURITY_POLICY], "one policy, the pages'");
            assert!(text(&response).contains("<script type=\"module\" src=\"/app/app.js\">"));
        }
        assert!(!PAGE_CONTENT_SECURITY_POLICY.contains("unsafe"), "no inline script or eval");
    }

    #[tokio::test]
    async fn the_document_holds_no_inline_script_or_style() {
        let document = text(&get(event("/app/")).await);
        assert!(!document.contains("<script>") && !document.contains(" style=") && !document.contains("<style"));
        assert!(!document.contains("onclick=") && !document.contains("javascript:"));
    }

    #[tokio::test]
    async fn files_are_cacheable_and_revalidated_with_their_digest() {
        let response = get(event("/app/app.js")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=300");
        let etag = response.headers()[ETAG].to_str().unwrap().to_owned();
        let again = get(event("/app/app.js").header("if-none-match", &etag)).await;
        assert_eq!(again.status(), 304);
        assert!(again.body().is_empty());
        let other = get(event("/app/app.css").header("if-none-match", &etag)).await;
        assert_eq!(other.status(), 200, "another file's tag is not this one's");
    }

    #[tokio::test]
    async fn an_unknown_file_is_a_json_404() {
        for path in ["/app/nothing.js", "/app/../Cargo.toml", "/app/assets/app.js"] {
            let response = get(event(path)).await;
            assert_eq!(response.status(), 404, "{path}");
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        }
    }
}
