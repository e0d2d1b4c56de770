//! What every console page shares: the signed-in staff member (`Staff`,
//! from the session cookie), forms with their CSRF check (`Posted`),
//! rendering a template inside the page frame, turning a use case's error
//! into a page, the security headers, and the two static files.

use super::i18n::{Lang, Tr};
use crate::domain::access::{self, Action};
use crate::http::extract::request_meta;
use crate::http::AppState;
use crate::service::{Actor, ServiceError};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{context, Environment, Value};
use serde::de::DeserializeOwned;
use std::sync::OnceLock;

/// The session cookie: the API's bearer token, never readable by a script.
pub const SESSION_COOKIE: &str = "varuh_session";
/// Before sign-in: the value the sign-in form must carry back (CSRF).
pub const PRE_COOKIE: &str = "varuh_pre";
/// The language chosen on this browser (also kept before sign-in).
pub const LANG_COOKIE: &str = "varuh_lang";

/// Scripts and styles from varuh only, nothing inline, no frames, forms
/// only to varuh; images from varuh or `data:` (the QR code).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every console answer.
pub async fn headers(req: Request, next: axum::middleware::Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    resp
}

pub async fn css() -> Response {
    asset("text/css; charset=utf-8", include_str!("static/varuh.css"))
}

pub async fn js() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("static/varuh.js"))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// `303 See Other` to a console path.
pub fn see_other(path: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(path) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, path `/console`,
/// `Secure` when served over TLS; `None` deletes it.
pub fn set_cookie(state: &AppState, name: &str, value: Option<&str>) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let v = match value {
        Some(v) => format!("{name}={v}; Path=/console; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The language of a request: the browser's chosen one, else what it asks for.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(|c| Lang::parse(&c)) {
        return l;
    }
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let first = accept.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    if first.starts_with("sl") {
        Lang::Sl
    } else {
        Lang::En
    }
}

/// The signed-in staff member of a console request: the session's actor,
/// the token (to sign out, to change the password), the language and the
/// CSRF token its forms carry.
pub struct Staff {
    pub actor: Actor,
    pub token: String,
    pub lang: Lang,
    pub csrf: String,
    pub state: AppState,
    /// The session's idle limit (the policy's), for the page's own timer.
    pub idle_minutes: u32,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let meta = request_meta(parts);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(see_other("/console/sign-in"));
        };
        match state.vault.authenticate(&meta, &token).await {
            Ok(actor) => Ok(Staff {
                idle_minutes: state.vault.policy(actor.tenant).await.map(|p| p.session.idle_minutes).unwrap_or(0),
                csrf: state.vault.form_token(&token),
                lang: actor.prefs.language.unwrap_or_else(|| lang_of(&parts.headers)),
                actor,
                token,
                state: state.clone(),
            }),
            Err(ServiceError::Unauthenticated) => {
                // Expired, idle too long, signed out elsewhere: say so.
                let mut r = see_other("/console/sign-in?ended=1");
                r.headers_mut().append(header::SET_COOKIE, set_cookie(state, SESSION_COOKIE, None));
                Err(r)
            }
            Err(e) => Err(bare_error(lang_of(&parts.headers), e)),
        }
    }
}

impl Staff {
    /// May this staff member run `action` (by role, grants, scope)? Used to
    /// show only the sections and buttons that would work; the use case
    /// itself checks again.
    pub fn may(&self, action: Action) -> bool {
        let a = &self.actor;
        access::permit(action.rule(), a.role, a.tenant.is_none(), &a.access, None).is_ok()
    }

    /// Renders `template` inside the page frame with `page` as its data.
    pub fn render(&self, template: &str, title: &str, page: Value) -> Response {
        let who = context! {
            role => self.actor.role.as_str(),
            tenant => self.actor.tenant.map(|t| t.to_string()),
            system => self.actor.tenant.is_none(),
            may_audit => self.may(Action::AuditQuery),
        };
        let tz = self.actor.prefs.time_zone.clone();
        let idle = self.idle_minutes;
        render(
            self.lang,
            template,
            title,
            context! { who, csrf => self.csrf.clone(), tz, idle, ..page },
            StatusCode::OK,
        )
    }

    /// A use case's error as a page (or a redirect to what must come first).
    pub fn error(&self, e: ServiceError) -> Response {
        bare_error(self.lang, e)
    }

    /// The tenant a page acts on: the path's id if well formed (anything
    /// else is not found, like the API).
    pub fn tenant(&self, id: &str) -> Result<uuid::Uuid, Response> {
        id.parse().map_err(|_| self.error(ServiceError::NotFound("tenant")))
    }

    pub fn id(&self, id: &str, what: &'static str) -> Result<uuid::Uuid, Response> {
        id.parse().map_err(|_| self.error(ServiceError::NotFound(what)))
    }
}

/// `?` on a use case's result inside a page handler.
pub trait OrPage<T> {
    fn or_page(self, st: &Staff) -> Result<T, Response>;
}

impl<T> OrPage<T> for crate::service::Result<T> {
    fn or_page(self, st: &Staff) -> Result<T, Response> {
        self.map_err(|e| st.error(e))
    }
}

/// The error page for `e` (no personal value: service errors hold none).
pub fn bare_error(lang: Lang, e: ServiceError) -> Response {
    let tr = Tr(lang);
    let (status, title, detail) = match &e {
        ServiceError::PasswordChangeRequired => return see_other("/console/password"),
        ServiceError::MfaEnrolmentRequired => return see_other("/console/mfa"),
        ServiceError::Unauthenticated | ServiceError::BadCredentials => {
            return see_other("/console/sign-in?ended=1");
        }
        ServiceError::Forbidden(m) => (StatusCode::FORBIDDEN, tr.get("err_forbidden"), m.clone()),
        ServiceError::NotFound(what) => (StatusCode::NOT_FOUND, tr.get("err_not_found"), format!("{what} not found")),
        ServiceError::Invalid(i) => (StatusCode::UNPROCESSABLE_ENTITY, tr.get("err_invalid"), i.to_string()),
        ServiceError::Conflict(_) | ServiceError::Stale | ServiceError::IdentifierConflict(_) => {
            (StatusCode::CONFLICT, tr.get("err_conflict"), e.to_string())
        }
        ServiceError::Restricted(m) => (StatusCode::FORBIDDEN, tr.get("err_restricted"), m.clone()),
        ServiceError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, tr.get("err_unavailable"), String::new()),
        ServiceError::Internal(m) => {
            tracing::error!(error = %m, "console: internal error");
            (StatusCode::INTERNAL_SERVER_ERROR, tr.get("err_internal"), String::new())
        }
        _ => (StatusCode::UNPROCESSABLE_ENTITY, tr.get("err_invalid"), e.to_string()),
    };
    render(lang, "error.html", title, context! { title, detail }, status)
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, src) in super::i18n::TEMPLATES {
            env.add_template(name, src).expect("console templates compile");
        }
        // A time (milliseconds or RFC 3339) in the staff member's time zone.
        env.add_filter("when", |state: &minijinja::State, v: Value| -> String {
            let ms = match v.as_i64() {
                Some(ms) => ms,
                None => match v.as_str().and_then(crate::clock::parse_rfc3339) {
                    Some(ms) => ms,
                    None => return String::new(),
                },
            };
            let tz = state.lookup("tz");
            super::i18n::when(ms, tz.as_ref().and_then(|t| t.as_str()))
        });
        env
    })
}

/// Renders a page: `template` with the frame's data (language, texts, title).
pub fn render(lang: Lang, template: &str, title: &str, page: Value, status: StatusCode) -> Response {
    let tr = Value::from_object(Tr(lang));
    let ctx = context! { tr, lang => lang.code(), title, ..page };
    match env().get_template(template).and_then(|t| t.render(ctx)) {
        Ok(html) => {
            let mut r = (status, html).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            r
        }
        Err(e) => {
            tracing::error!(template, error = %e, "console: a template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// A form posted by a signed-in staff member, its CSRF token checked
/// (constant time) before anything else; a bad or missing token changes
/// nothing and answers 403.
pub struct Posted<T> {
    pub staff: Staff,
    pub form: T,
}

/// Forms are small; the largest is a breach report.
const FORM_BYTES: usize = 256 * 1024;

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_BYTES)
            .await
            .map_err(|_| bare_error(staff.lang, crate::domain::Invalid::new("form", "is too large").into()))?;
        let sent = form_field(&bytes, "csrf");
        if !same(sent.as_deref().unwrap_or(""), &staff.csrf) {
            return Err(forbidden_form(staff.lang));
        }
        let form = parse_form(&bytes).map_err(|e| staff.error(e))?;
        Ok(Posted { staff, form })
    }
}

/// Reads a form body into `T`; a bad field is named, its value not echoed.
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> crate::service::Result<T> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let field = msg.split('`').nth(1).map(|n| n.chars().take(32).collect::<String>()).unwrap_or(path);
        crate::domain::Invalid::new(field, "is missing or has an invalid value").into()
    })
}

pub fn form_field(bytes: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(bytes).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub fn forbidden_form(lang: Lang) -> Response {
    let tr = Tr(lang);
    render(
        lang,
        "error.html",
        tr.get("err_form"),
        context! { title => tr.get("err_form"), detail => tr.get("err_form_detail") },
        StatusCode::FORBIDDEN,
    )
}

/// A file to download (a PDF, a CSV), never cached.
pub fn download(kind: &'static str, file_name: &str, bytes: Vec<u8>) -> Response {
    crate::http::attachment(bytes, kind, file_name)
}

/// Values for templates from anything serialisable (the API's shapes).
pub fn val<T: serde::Serialize>(v: &T) -> Value {
    Value::from_serialize(v)
}

pub type Page = Result<Response, Response>;
