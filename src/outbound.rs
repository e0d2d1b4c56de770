//! What varuh sends out of itself: JSON POSTed to a webhook (`http://`, or
//! `https://` checked against the web's root certificates) and e-mail over
//! SMTP (`lettre`; `smtp://` plain or with `?tls=required` STARTTLS,
//! `smtps://` implicit TLS). Used by the audit head publication and by the
//! notices to recipients and staff. Errors say where and why, never a
//! message's content.

use std::sync::Arc;
use std::time::Duration;

/// How long a webhook or a mail server may take to accept a message.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Checks a webhook address: `http(s)://host[:port]/path`.
pub fn check_url(url: &str) -> Result<hyper::Uri, String> {
    let uri: hyper::Uri = url.parse().map_err(|_| "the webhook is not a URL".to_string())?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err("a webhook must be an http(s)://host[:port]/path URL".into());
    }
    Ok(uri)
}

/// POSTs a JSON body; any status but 2xx is a failure.
pub async fn post_json(url: &str, body: &str) -> Result<(), String> {
    tokio::time::timeout(TIMEOUT, post(url, body.to_string()))
        .await
        .map_err(|_| format!("the webhook did not answer within {} s", TIMEOUT.as_secs()))?
}

async fn post(url: &str, body: String) -> Result<(), String> {
    use http_body_util::Full;
    let uri = check_url(url)?;
    let tls = uri.scheme_str() == Some("https");
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot reach the webhook: {e}"))?;
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    let req = hyper::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| format!("webhook: {e}"))?;
    let status = if tls {
        let name =
            rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| "webhook: bad host name".to_string())?;
        let stream = tokio_rustls::TlsConnector::from(client_tls())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("webhook TLS: {e}"))?;
        send(hyper_util::rt::TokioIo::new(stream), req).await?
    } else {
        send(hyper_util::rt::TokioIo::new(tcp), req).await?
    };
    if !status.is_success() {
        return Err(format!("the webhook answered {status}"));
    }
    Ok(())
}

async fn send<T>(io: T, req: hyper::Request<http_body_util::Full<bytes::Bytes>>) -> Result<hyper::StatusCode, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("webhook: {e}"))?;
    tokio::spawn(conn);
    Ok(sender.send_request(req).await.map_err(|e| format!("webhook: {e}"))?.status())
}

fn client_tls() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let config =
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default protocol versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// An SMTP relay and the sender address of varuh's mail.
pub struct Mailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    /// `url`: `smtp://[user:pass@]host:port[?tls=required]` or `smtps://…`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|_| "smtp_url is not an smtp:// or smtps:// URL".to_string())?
            .timeout(Some(TIMEOUT))
            .build();
        let from = from.parse().map_err(|_| "smtp_from is not an e-mail address".to_string())?;
        Ok(Mailer { transport, from })
    }

    /// Sends a plain-text message (UTF-8).
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        use lettre::AsyncTransport;
        let to: lettre::message::Mailbox =
            to.parse().map_err(|_| "the recipient's e-mail address is not valid".to_string())?;
        let msg = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| format!("e-mail: {e}"))?;
        self.transport.send(msg).await.map(|_| ()).map_err(|e| smtp_problem(&e))
    }
}

/// What went wrong with a message, without the server's own words (its
/// reply may quote the recipient's address): the reply code, or the kind
/// of failure.
fn smtp_problem(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) if e.is_permanent() => format!("the mail server refused the message (SMTP {code})"),
        Some(code) => format!("the mail server deferred the message (SMTP {code})"),
        None if e.is_timeout() => format!("the mail server did not answer within {} s", TIMEOUT.as_secs()),
        None if e.is_tls() => "the TLS connection to the mail server failed".into(),
        None => "the mail server could not be reached".into(),
    }
}
