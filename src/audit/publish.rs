//! Publishing signed tree heads outside the database, where whoever
//! administers the database cannot rewrite them: a file (JSON Lines,
//! flushed to disk) and a webhook (an HTTP POST of the same JSON). With a
//! published head, a database rolled back or rewritten to an older history
//! no longer verifies (`varuh audit verify --published`). The checkpoint in
//! the payload is signed, so the channel needs no integrity of its own.

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

/// Checks a webhook address (`outbound::check_url`), naming the setting.
pub fn check_webhook(url: &str) -> Result<hyper::Uri, String> {
    crate::outbound::check_url(url).map_err(|e| format!("audit_publish_webhook: {e}"))
}

/// POSTs the payload; any status but 2xx is a failure.
pub async fn to_webhook(url: &str, payload: &str) -> Result<(), String> {
    crate::outbound::post_json(url, payload).await
}
