//! Serving: TLS with rustls when a certificate is configured, plain HTTP on
//! loopback otherwise; graceful shutdown on SIGTERM/Ctrl-C (in-flight
//! requests finish, and every acknowledged write is already committed).

use super::{app, AppState};
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub struct Tls<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// Serves until a shutdown signal; returns after in-flight requests end.
pub async fn serve(
    state: AppState,
    listen: SocketAddr,
    tls: Option<Tls<'_>>,
    ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> anyhow::Result<()> {
    let handle = Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested: finishing in-flight requests");
        h.graceful_shutdown(Some(Duration::from_secs(30)));
    });
    let router = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let std_listener =
        std::net::TcpListener::bind(listen).map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    match tls {
        Some(t) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let cfg = RustlsConfig::from_pem_file(t.cert, t.key)
                .await
                .map_err(|e| anyhow::anyhow!("cannot load TLS certificate/key: {e}"))?;
            tracing::info!(%addr, "listening on https://{addr} (TLS)");
            if let Some(r) = ready {
                let _ = r.send(addr);
            }
            axum_server::from_tcp_rustls(std_listener, cfg).handle(handle).serve(router).await?;
        }
        None => {
            tracing::warn!(%addr, "listening on http://{addr} without TLS: loopback only");
            if let Some(r) = ready {
                let _ = r.send(addr);
            }
            // No Nagle delay: a response is one small write the client waits for.
            axum_server::from_tcp(std_listener)
                .acceptor(axum_server::accept::NoDelayAcceptor::new())
                .handle(handle)
                .serve(router)
                .await?;
        }
    }
    tracing::info!("server stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
