//! Request extractors: a JSON body reader that turns every kind of bad
//! input into a problem naming the field (without echoing values), and the
//! bearer-token authentication of staff.

use super::problem::Problem;
use super::AppState;
use crate::service::audit::RequestMeta;
use crate::service::Actor;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// A JSON request body: `application/json`, at most `max_body_bytes`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        json_body(req, state.max_body_bytes).await.map(Body)
    }
}

/// The body of a bulk route (a mailing list, an import): JSON like `Body`,
/// up to `BULK_BODY_BYTES` (or `max_body_bytes` if that is larger).
pub struct Bulk<T>(pub T);

/// 100,000 e-mail addresses of ordinary length fit with room to spare.
pub const BULK_BODY_BYTES: usize = 16 * 1024 * 1024;

impl<T: DeserializeOwned> FromRequest<AppState> for Bulk<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        json_body(req, state.max_body_bytes.max(BULK_BODY_BYTES)).await.map(Bulk)
    }
}

/// An optional JSON body: none at all (no bytes) is `None`; anything else
/// is read as `Body` reads it.
pub struct OptBody<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let empty =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == "0")
                || (req.headers().get(header::CONTENT_TYPE).is_none()
                    && req.headers().get(header::TRANSFER_ENCODING).is_none()
                    && req.headers().get(header::CONTENT_LENGTH).is_none());
        if empty {
            return Ok(OptBody(None));
        }
        json_body(req, state.max_body_bytes).await.map(|b| OptBody(Some(b)))
    }
}

async fn json_body<T: DeserializeOwned>(req: Request, limit: usize) -> Result<T, Problem> {
    {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json")) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let too_large = || {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                format!("the body must be at most {limit} bytes"),
            )
        };
        if let Some(len) = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
        {
            if len > limit {
                return Err(too_large());
            }
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| too_large())?;
        parse(&bytes)
    }
}

/// Query parameters: like axum's `Query`, but a bad or unknown parameter is
/// a 422 problem naming it (never echoing its value).
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(de).map(Params).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.into_inner().to_string();
            let quoted = msg.split('`').nth(1).map(|n| n.chars().take(32).collect::<String>()).unwrap_or_default();
            if msg.starts_with("unknown field") {
                Problem::invalid(quoted, "is not a query parameter of this route")
            } else if msg.starts_with("missing field") {
                Problem::invalid(quoted, "is required")
            } else {
                let field = if path.is_empty() || path == "." { "query".to_string() } else { path };
                Problem::invalid(field, "has an invalid value (wrong type or format)")
            }
        })
    }
}

/// Parses JSON into `T`; errors name the path and never echo the input.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if matches!(
                inner.classify(),
                serde_json::error::Category::Syntax
                    | serde_json::error::Category::Eof
                    | serde_json::error::Category::Io
            ) {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    "Malformed JSON",
                    format!("the body is not valid JSON (line {}, column {})", inner.line(), inner.column()),
                ));
            }
            let msg = inner.to_string();
            let join =
                |name: &str| if path == "." || path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
            let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
            let (field, detail) = if let Some(rest) = msg.strip_prefix("missing field ") {
                (join(&quoted(rest).unwrap_or_default()), "is required".to_string())
            } else if msg.starts_with("unknown field") {
                // The path already ends with the unknown field's name.
                let f = if path == "." { join(&quoted(&msg).unwrap_or_default()) } else { path.clone() };
                (f, "is not a known field".to_string())
            } else if msg.starts_with("unknown variant") {
                let expected = msg
                    .split_once("expected ")
                    .map(|(_, e)| e.split(" at line").next().unwrap_or(e).to_string())
                    .unwrap_or_default();
                (path.clone(), format!("must be {expected}"))
            } else if msg.starts_with("invalid type") {
                let expected = msg
                    .split_once("expected ")
                    .map(|(_, e)| e.split(" at line").next().unwrap_or(e).to_string())
                    .unwrap_or_default();
                (path.clone(), format!("has the wrong type: expected {expected}"))
            } else {
                (path.clone(), "has an invalid value".to_string())
            };
            let field = if field.is_empty() || field == "." { "body".to_string() } else { field };
            Err(Problem::invalid(field, detail))
        }
    }
}

/// A signed-in caller (a staff session or an API key). What the caller
/// may do, including "nothing but change the password" or "nothing but
/// enrol MFA", is the service kernel's decision, not the extractor's.
pub struct Auth {
    pub actor: Actor,
    pub token: String,
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_string())
}

/// The request's id (the client's `x-request-id` if it is a plain token of
/// at most 64 characters, else a new one), the client's address and its
/// user agent (printable ASCII, at most 120 characters).
pub struct Meta(pub RequestMeta);

pub fn request_meta(parts: &Parts) -> RequestMeta {
    let id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let source =
        parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| {
        v.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(120).collect::<String>().replace(' ', "_")
    });
    RequestMeta { id, source, user_agent }
}

impl FromRequestParts<AppState> for Meta {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Problem> {
        Ok(Meta(request_meta(parts)))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let meta = request_meta(parts);
        let Some(token) = bearer(parts) else {
            // A request without credentials is recorded too.
            let mut d = state.vault.anonymous_event(&meta, "auth.session");
            d.outcome = "unauthenticated".into();
            state.vault.record_event(d).await?;
            return Err(crate::service::ServiceError::Unauthenticated.into());
        };
        let actor = state.vault.authenticate(&meta, &token).await?;
        Ok(Auth { actor, token })
    }
}
