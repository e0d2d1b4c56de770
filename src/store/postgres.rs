//! PostgreSQL backend, over the synchronous `postgres` client (each
//! connection lives on one of the store's own threads, never on the async
//! runtime). Statements are prepared once per connection. TLS (rustls) as
//! libpq's `sslmode` says; a lost connection is opened again at the next
//! statement outside a transaction (a restarted or failed-over server).

use super::db::{Db, Dialect, Row, Val};
use super::StoreError;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How a connection is secured: libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS if the server offers it, without checking its certificate.
    Prefer,
    /// TLS or no connection; the certificate is checked against
    /// `sslrootcert` if one is given (as libpq does), else not at all.
    Require,
    /// TLS, the certificate chain checked against `sslrootcert`.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

/// A PostgreSQL URL with varuh's reading of `sslmode` and `sslrootcert`
/// (the client library knows only disable/prefer/require, and no roots).
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    mode: SslMode,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// The URL's password, to keep it out of error messages.
    password: Option<String>,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, StoreError> {
        let bad = |m: String| StoreError::Unavailable(m);
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (mut mode, mut root, mut rest) = (SslMode::Prefer, None::<String>, Vec::new());
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "sslmode" => {
                    mode = match v {
                        "disable" => SslMode::Disable,
                        "allow" | "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        _ => {
                            return Err(bad(format!(
                                "sslmode={v} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                            )))
                        }
                    }
                }
                "sslrootcert" => root = Some(percent_decode(v)),
                _ => rest.push(kv),
            }
        }
        let plain = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
        let mut config: postgres::Config =
            plain.parse().map_err(|e: postgres::Error| bad(format!("database_url is not a PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.ssl_mode(match mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && root.is_none() {
            return Err(bad(format!(
                "sslmode={} needs sslrootcert=<file of CA certificates> (or sslrootcert=system)",
                if mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
            )));
        }
        let tls = match mode {
            SslMode::Disable => None,
            _ => Some(tokio_postgres_rustls::MakeRustlsConnect::new(client_config(mode, root.as_deref())?)),
        };
        let password = config.get_password().map(|p| String::from_utf8_lossy(p).into_owned()).filter(|p| !p.is_empty());
        Ok(Target { config, mode, tls, password })
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.mode
    }

    fn connect(&self) -> Result<Client, StoreError> {
        let r = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        };
        r.map_err(|e| StoreError::Unavailable(self.redact(&describe(&e))))
    }

    /// Connection errors must not echo a password given in the URL.
    fn redact(&self, msg: &str) -> String {
        match &self.password {
            Some(pw) => msg.replace(pw.as_str(), "***"),
            None => msg.to_string(),
        }
    }
}

/// A connection error with its cause (the TLS reason is in the source).
fn describe(e: &postgres::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg = format!("{msg}: {t}");
        }
        src = s.source();
    }
    msg
}

fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Ok(x) = u8::from_str_radix(&v[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The rustls client configuration for a mode (ring as the provider).
fn client_config(mode: SslMode, root: Option<&str>) -> Result<rustls::ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Unavailable(format!("TLS: {e}")))?;
    let roots = match root {
        None => None,
        Some("system") => {
            let mut r = rustls::RootCertStore::empty();
            r.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            Some(r)
        }
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let mut r = rustls::RootCertStore::empty();
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| StoreError::Unavailable(format!("sslrootcert {path}: {e}")))?;
            for c in certs {
                let c = c.map_err(|e| StoreError::Unavailable(format!("sslrootcert {path}: {e}")))?;
                r.add(c).map_err(|e| StoreError::Unavailable(format!("sslrootcert {path}: {e}")))?;
            }
            if r.is_empty() {
                return Err(StoreError::Unavailable(format!("sslrootcert {path}: no certificate in the file")));
            }
            Some(r)
        }
    };
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = match (mode, roots) {
        (SslMode::Prefer, _) | (SslMode::Require, None) => Arc::new(Unverified(provider)),
        (_, Some(roots)) => {
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| StoreError::Unavailable(format!("TLS: {e}")))?;
            Arc::new(Chain { inner, check_name: mode == SslMode::VerifyFull })
        }
        (_, None) => return Err(StoreError::Unavailable("TLS: no root certificates".into())),
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// `sslmode=require` without roots, and `prefer`: encrypted, not
/// authenticated (libpq's meaning). Signatures are still checked.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

/// `verify-ca` (the chain) and `verify-full` (the chain and the name).
#[derive(Debug)]
struct Chain {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    check_name: bool,
}

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for Chain {
    fn verify_server_cert(
        &self,
        end: &CertificateDer<'_>,
        inter: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end, inter, name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

pub struct Postgres {
    target: Target,
    client: Option<Client>,
    stmts: HashMap<usize, Statement>,
    /// A transaction is open: a lost connection fails it rather than
    /// silently continuing on a new connection outside it.
    in_tx: bool,
}

impl Postgres {
    pub fn connect(target: &Target) -> Result<Self, StoreError> {
        let client = target.connect()?;
        Ok(Postgres { target: target.clone(), client: Some(client), stmts: HashMap::new(), in_tx: false })
    }

    /// The connection; opened again if it was lost and no transaction is open.
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        let lost = self.client.as_ref().is_none_or(|c| c.is_closed());
        if lost {
            if self.in_tx {
                return Err(StoreError::Unavailable("the database connection was lost".into()));
            }
            self.client = None;
            self.stmts.clear();
            self.client = Some(self.target.connect()?);
            tracing::info!("database connection opened again");
        }
        Ok(self.client.as_mut().expect("connected"))
    }

    /// Runs `f`; outside a transaction, once more on a new connection if
    /// the server had dropped this one (a restart, a failover, a terminated
    /// backend): a statement that found the connection gone did nothing.
    fn again<T>(&mut self, mut f: impl FnMut(&mut Self) -> Result<T, StoreError>) -> Result<T, StoreError> {
        match f(self) {
            Err(StoreError::Unavailable(_)) if !self.in_tx => {
                self.client = None;
                f(self)
            }
            r => r,
        }
    }

    fn prepare(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        let key = sql.as_ptr() as usize;
        if let Some(s) = self.stmts.get(&key) {
            if !self.client.as_ref().is_none_or(|c| c.is_closed()) {
                return Ok(s.clone());
            }
        }
        let s = self.client()?.prepare(sql).map_err(err)?;
        self.stmts.insert(key, s.clone());
        Ok(s)
    }
}

fn err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == postgres::error::SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict;
        }
    }
    if e.is_closed() {
        return StoreError::Unavailable(e.to_string());
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        // Read-only (a standby, a failed-over primary), the connection
        // gone, the server shutting down: the database is not available.
        if code == "53100" {
            return StoreError::Unavailable(super::DISK_FULL.into());
        }
        if code == "25006" || code.starts_with("08") || code.starts_with("57P") {
            return StoreError::Unavailable(format!("{} (SQLSTATE {code})", db.message()));
        }
    }
    // The SQLSTATE always; the server's message only for classes whose
    // messages name objects (privileges, schema, resources), never values;
    // never the DETAIL, which may quote a row.
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            if ["42", "53", "55", "57"].iter().any(|c| code.starts_with(c)) {
                StoreError::Db(format!("{} (SQLSTATE {code})", db.message()))
            } else {
                StoreError::Db(format!("database error (SQLSTATE {code})"))
            }
        }
        None => StoreError::Db(e.to_string()),
    }
}

impl ToSql for Val {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::I64(v) => v.to_sql(ty, out),
            Val::Text(v) => v.to_sql(ty, out),
            Val::Blob(v) => v.to_sql(ty, out),
            Val::TextArray(v) => v.to_sql(ty, out),
            Val::OptTextArray(v) => v.to_sql(ty, out),
            Val::BlobArray(v) => v.to_sql(ty, out),
            Val::I64Array(v) => v.to_sql(ty, out),
            Val::OptBlobArray(v) => v.to_sql(ty, out),
            Val::OptI64Array(v) => v.to_sql(ty, out),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

impl Db for Postgres {
    fn exec(&mut self, sql: &'static str, params: &[Val]) -> Result<u64, StoreError> {
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        self.again(|me| {
            let stmt = me.prepare(sql)?;
            me.client()?.execute(&stmt, &p).map_err(err)
        })
    }

    fn query(&mut self, sql: &'static str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let rows = self.again(|me| {
            let stmt = me.prepare(sql)?;
            me.client()?.query(&stmt, &p).map_err(err)
        })?;
        rows.iter().map(row_vals).collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let (begins, ends) = (sql.starts_with("BEGIN"), sql.ends_with("COMMIT") || sql == "ROLLBACK");
        if begins {
            self.in_tx = false;
        }
        let mut r = self.client().and_then(|c| c.batch_execute(sql).map_err(err));
        if begins && matches!(r, Err(StoreError::Unavailable(_))) {
            // The server dropped this connection while it was idle (a
            // restart, a failover): nothing was lost, so open a new one
            // now rather than fail the batch.
            self.client = None;
            r = self.client().and_then(|c| c.batch_execute(sql).map_err(err));
        }
        if begins {
            self.in_tx = r.is_ok();
        }
        if ends {
            self.in_tx = false;
        }
        r
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn autocommit(&self) -> bool {
        !self.in_tx
    }

    fn scan(&mut self, sql: &str, each: &mut dyn FnMut(Row) -> Result<(), StoreError>) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let client = self.client()?;
        let stmt = client.prepare(sql).map_err(err)?;
        let mut rows = client.query_raw(&stmt, std::iter::empty::<&Val>()).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            each(row_vals(&r)?)?;
        }
        Ok(())
    }

    fn insert_rows(&mut self, table: &str, columns: &[String], rows: &[Vec<Val>]) -> Result<(), StoreError> {
        use postgres::binary_copy::BinaryCopyInWriter;
        let client = self.client()?;
        let cols = columns.join(", ");
        let types: Vec<Type> = client
            .prepare(&format!("SELECT {cols} FROM {table} LIMIT 0"))
            .map_err(err)?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let sink = client.copy_in(&format!("COPY {table} ({cols}) FROM STDIN BINARY")).map_err(err)?;
        let mut w = BinaryCopyInWriter::new(sink, &types);
        for r in rows {
            let vals: Vec<&(dyn ToSql + Sync)> = r.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            w.write(&vals).map_err(err)?;
        }
        w.finish().map_err(err)?;
        Ok(())
    }
}

/// A result row as `Val`s (integers widened, booleans as 0/1, anything
/// else but bytes as text).
fn row_vals(r: &postgres::Row) -> Result<Row, StoreError> {
    let mut vals = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(err)?.map(Val::I64),
            Type::INT4 => r.try_get::<_, Option<i32>>(i).map_err(err)?.map(|v| Val::I64(v.into())),
            Type::INT2 => r.try_get::<_, Option<i16>>(i).map_err(err)?.map(|v| Val::I64(v.into())),
            Type::BOOL => r.try_get::<_, Option<bool>>(i).map_err(err)?.map(|v| Val::I64(v.into())),
            Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i).map_err(err)?.map(Val::Blob),
            _ => r.try_get::<_, Option<String>>(i).map_err(err)?.map(Val::Text),
        };
        vals.push(v.unwrap_or(Val::Null));
    }
    Ok(Row(vals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        let mode = |q: &str| Target::parse(&format!("postgres://u@db.example/x{q}")).map(|t| t.ssl_mode());
        assert_eq!(mode("").unwrap(), SslMode::Prefer, "libpq's default");
        assert_eq!(mode("?sslmode=disable").unwrap(), SslMode::Disable);
        assert_eq!(mode("?sslmode=allow").unwrap(), SslMode::Prefer);
        assert_eq!(mode("?sslmode=require&application_name=varuh").unwrap(), SslMode::Require);
        let e = mode("?sslmode=verify-full").err().unwrap().to_string();
        assert!(e.contains("sslrootcert"), "{e}");
        let e = mode("?sslmode=verify-ca").err().unwrap().to_string();
        assert!(e.contains("verify-ca") && e.contains("sslrootcert"), "{e}");
        let e = mode("?sslmode=on").err().unwrap().to_string();
        assert!(e.contains("sslmode=on"), "{e}");
        assert_eq!(mode("?sslmode=verify-full&sslrootcert=system").unwrap(), SslMode::VerifyFull);
        let e = mode("?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").err().unwrap().to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn a_root_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("empty.pem");
        std::fs::write(&f, "not a certificate\n").unwrap();
        let url = format!("postgres://u@db.example/x?sslmode=verify-ca&sslrootcert={}", f.display());
        let e = Target::parse(&url).err().unwrap().to_string();
        assert!(e.contains("no certificate"), "{e}");
    }

    #[test]
    fn connection_errors_do_not_echo_the_password() {
        let t = Target::parse("postgres://u:s3cret-pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2").unwrap();
        let e = t.connect().err().unwrap().to_string();
        assert!(e.contains("127.0.0.1") || e.contains("connect"), "a real connection error: {e}");
        assert!(!e.contains("s3cret-pw"), "{e}");
        // Whatever the driver says, a password in it is masked.
        assert_eq!(t.redact("auth failed for u:s3cret-pw"), "auth failed for u:***");
    }

    #[test]
    fn percent_encoded_paths_decode() {
        assert_eq!(percent_decode("%2Fetc%2Fssl%2Fca.pem"), "/etc/ssl/ca.pem");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
        assert_eq!(percent_decode("end%2"), "end%2");
    }
}
