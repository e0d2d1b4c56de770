//! Publishing signed tree heads outside the database, where whoever
//! administers the database cannot rewrite them: a file (JSON Lines,
//! flushed to disk) and a webhook (an HTTP POST of the same JSON). With a
//! published head, a database rolled back or rewritten to an older history
//! no longer verifies (`varuh audit verify --published`). The checkpoint in
//! the payload is signed, so the channel needs no integrity of its own.

use std::time::Duration;

/// How long a webhook may take to accept a head.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The published form of a head: one JSON object.
pub fn payload(origin: &str, tree_size: u64, root: &[u8], checkpoint: &str) -> String {
    serde_json::json!({
        "origin": origin,
        "tree_size": tree_size,
        "root": super::hex(root),
        "checkpoint": checkpoint,
    })
    .to_string()
}

/// Appends one line to the file and flushes it to disk.
pub fn to_file(path: &std::path::Path, payload: &str) -> Result<(), String> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(format!("{payload}\n").as_bytes())
        .and_then(|_| f.sync_data())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks a webhook address: `http://host:port/path`. (No TLS client is
/// built in; put a TLS-terminating proxy in front for a remote receiver.)
pub fn check_webhook(url: &str) -> Result<hyper::Uri, String> {
    let uri: hyper::Uri = url.parse().map_err(|_| "audit_publish_webhook is not a URL".to_string())?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err("audit_publish_webhook must be an http://host[:port]/path URL".into());
    }
    Ok(uri)
}

/// POSTs the payload; any status but 2xx is a failure.
pub async fn to_webhook(url: &str, payload: &str) -> Result<(), String> {
    tokio::time::timeout(WEBHOOK_TIMEOUT, post(url, payload.to_string()))
        .await
        .map_err(|_| format!("the webhook did not answer within {} s", WEBHOOK_TIMEOUT.as_secs()))?
}

async fn post(url: &str, payload: String) -> Result<(), String> {
    use http_body_util::Full;
    let uri = check_webhook(url)?;
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot reach the webhook: {e}"))?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| format!("webhook: {e}"))?;
    tokio::spawn(conn);
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    let req = hyper::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(bytes::Bytes::from(payload)))
        .map_err(|e| format!("webhook: {e}"))?;
    let res = send.send_request(req).await.map_err(|e| format!("webhook: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("the webhook answered {}", res.status()));
    }
    Ok(())
}
