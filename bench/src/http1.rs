//! Just enough HTTP/1.1 for the local servers of the benchmark: requests
//! with a `content-length` body over keep-alive connections, and the
//! answers of the stubs of AWS services.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The request as it came, to pass it on.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        [head.into_bytes(), self.body.clone()].concat()
    }
}

/// The next request on the connection, or `None` once the client is gone.
pub async fn read_request<R: AsyncBufRead + Unpin>(reader: &mut R) -> Option<Request> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.ok()? == 0 {
        return None;
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request { method, path, headers, body })
}

/// The next response on the connection, as its bytes: the status line, the
/// headers and a `content-length` or chunked body; `None` once the server is
/// gone.
pub async fn read_response<R: AsyncBufRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    loop {
        let response = read_one_response(reader).await?;
        // An interim answer (100 Continue) is followed by the real one.
        if !response.starts_with(b"HTTP/1.1 1") && !response.starts_with(b"HTTP/1.0 1") {
            return Some(response);
        }
    }
}

async fn read_one_response<R: AsyncBufRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        head.extend_from_slice(line.as_bytes());
        let trimmed = line.trim_end();
        if trimmed.is_empty() && head.len() > line.len() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = Some(value.trim().parse().ok()?),
                // Chunked is the last coding when there is one.
                "transfer-encoding" => {
                    chunked = value.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
                }
                _ => {}
            }
        }
    }
    if !chunked {
        // Without a length an answer would run to the connection's end,
        // which a relay cannot tell from a lost connection.
        let mut body = vec![0u8; length.unwrap_or(0)];
        reader.read_exact(&mut body).await.ok()?;
        return Some([head, body].concat());
    }
    // Each chunk passed on as it came, through the last one and its trailer.
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line).await.ok()? == 0 {
            return None;
        }
        head.extend_from_slice(size_line.as_bytes());
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            // The trailer ends with an empty line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                head.extend_from_slice(line.as_bytes());
                if line.trim_end().is_empty() {
                    return Some(head);
                }
            }
        }
        let mut chunk = vec![0u8; size.checked_add(2)?];
        reader.read_exact(&mut chunk).await.ok()?;
        head.extend_from_slice(&chunk);
    }
}

/// A stub AWS service's answer: `body` as AWS JSON of `version` ("1.0" for
/// DynamoDB, "1.1" for Secrets Manager), with a request id as AWS sends.
pub fn aws_json_reply(status: &str, version: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-{version}\r\nx-amzn-requestid: stub\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
}
