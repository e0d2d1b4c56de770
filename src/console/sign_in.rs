//! Signing in and one's own account in the console: the sign-in form
//! (password and, for an account with a second factor, its TOTP code or a
//! recovery code, in one form), the first-login password change, MFA
//! enrolment with the QR code and the recovery codes shown once, the
//! language, and signing out. Every step is the API's use case
//! (`Vault::login`, `change_password`, `mfa_enrol`, `mfa_confirm`,
//! `logout`); a refusal says no more than the API's does.

use super::i18n::{Lang, Tr};
use super::shell::{
    bare_error, cookie, forbidden_form, form_field, lang_of, parse_form, render, same, see_other, set_cookie, OrPage,
    Page, Posted, Staff, LANG_COOKIE, PRE_COOKIE, SESSION_COOKIE,
};
use crate::http::extract::request_meta;
use crate::http::AppState;
use crate::service::identity::login::SecondFactor;
use crate::service::ServiceError;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use minijinja::context;
use serde::Deserialize;

/// `/console/`: where a signed-in staff member starts.
pub async fn home(st: Staff) -> Response {
    let a = &st.actor;
    if a.must_change_password {
        see_other("/console/password")
    } else if a.must_enrol_mfa {
        see_other("/console/mfa")
    } else if let Some(t) = a.tenant {
        see_other(&format!("/console/t/{t}"))
    } else {
        see_other("/console/tenants")
    }
}

#[derive(Deserialize)]
pub struct Shown {
    ended: Option<String>,
    out: Option<String>,
}

/// The sign-in form. The browser gets a fresh random value in a cookie
/// and in the form, and the form only counts when both agree.
pub async fn form(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<Shown>) -> Response {
    let lang = lang_of(&headers);
    let tr = Tr(lang);
    let notice = if q.out.is_some() {
        Some(tr.get("signed_out"))
    } else if q.ended.is_some() {
        Some(tr.get("session_ended"))
    } else {
        None
    };
    sign_in_page(&s, &headers, lang, context! { notice }, StatusCode::OK)
}

fn sign_in_page(s: &AppState, headers: &HeaderMap, lang: Lang, page: minijinja::Value, status: StatusCode) -> Response {
    let pre = cookie(headers, PRE_COOKIE).filter(|v| v.len() == 43).unwrap_or_else(crate::crypto::new_token);
    let tr = Tr(lang);
    let mut r = render(lang, "sign_in.html", tr.get("sign_in"), context! { csrf => pre.clone(), ..page }, status);
    r.headers_mut().append(header::SET_COOKIE, set_cookie(s, PRE_COOKIE, Some(&pre)));
    r
}

#[derive(Deserialize)]
struct SignIn {
    username: String,
    password: String,
    #[serde(default)]
    code: String,
}

/// Signs in. A code of six digits is a TOTP code; anything else given is
/// taken as a recovery code.
pub async fn submit(State(s): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let lang = lang_of(&parts.headers);
    let tr = Tr(lang);
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024).await else {
        return bare_error(lang, crate::domain::Invalid::new("form", "is too large").into());
    };
    let pre = cookie(&parts.headers, PRE_COOKIE).unwrap_or_default();
    if pre.is_empty() || !same(form_field(&bytes, "csrf").as_deref().unwrap_or(""), &pre) {
        return forbidden_form(lang);
    }
    let f: SignIn = match parse_form(&bytes) {
        Ok(f) => f,
        Err(e) => return bare_error(lang, e),
    };
    let meta = request_meta(&parts);
    let code: String = f.code.chars().filter(|c| !c.is_whitespace()).collect();
    let second = if code.is_empty() {
        SecondFactor::default()
    } else if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        SecondFactor { otp: Some(&code), recovery_code: None }
    } else {
        SecondFactor { otp: None, recovery_code: Some(f.code.trim()) }
    };
    match s.vault.login(&meta, &f.username, &f.password, second).await {
        Ok(l) => {
            let mut r = see_other("/console/");
            r.headers_mut().append(header::SET_COOKIE, set_cookie(&s, SESSION_COOKIE, Some(&l.token)));
            r.headers_mut().append(header::SET_COOKIE, set_cookie(&s, PRE_COOKIE, None));
            r
        }
        Err(e) => {
            let (status, message, ask_code) = match e {
                ServiceError::MfaRequired => (StatusCode::UNAUTHORIZED, tr.get("code_required"), true),
                ServiceError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, tr.get("rate_limited"), false),
                ServiceError::BadCredentials => (StatusCode::UNAUTHORIZED, tr.get("bad_credentials"), false),
                e => return bare_error(lang, e),
            };
            let page = context! { message, ask_code, username => f.username };
            sign_in_page(&s, &parts.headers, lang, page, status)
        }
    }
}

/// Signs out: the session ends on the server, the cookie goes.
pub async fn sign_out(p: Posted<serde::de::IgnoredAny>) -> Response {
    let st = p.staff;
    let _ = st.state.vault.logout(&st.actor, &st.token).await;
    let mut r = see_other("/console/sign-in?out=1");
    r.headers_mut().append(header::SET_COOKIE, set_cookie(&st.state, SESSION_COOKIE, None));
    r
}

pub async fn password_form(st: Staff) -> Response {
    let tr = Tr(st.lang);
    st.render("password.html", tr.get("password_change"), context! { must => st.actor.must_change_password })
}

#[derive(Deserialize)]
pub struct NewPassword {
    current: String,
    new: String,
    repeat: String,
}

/// Changes one's own password (the policy's refusal names the rule).
pub async fn password_submit(p: Posted<NewPassword>) -> Response {
    let (st, f) = (p.staff, p.form);
    let tr = Tr(st.lang);
    let again = |message: String| {
        let mut r = st.render(
            "password.html",
            tr.get("password_change"),
            context! { must => st.actor.must_change_password, message },
        );
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        r
    };
    if f.new != f.repeat {
        return again(tr.get("password_mismatch").to_string());
    }
    match st.state.vault.change_password(&st.actor, &st.token, &f.current, &f.new).await {
        Ok(()) => see_other("/console/"),
        Err(ServiceError::BadCredentials) => again(tr.get("password_wrong").to_string()),
        Err(ServiceError::Invalid(i)) => again(i.to_string()),
        Err(e) => st.error(e),
    }
}

/// MFA enrolment: a new seed as a QR code and as text.
pub async fn mfa_form(st: Staff) -> Page {
    let e = st.state.vault.mfa_enrol(&st.actor).await.or_page(&st)?;
    Ok(mfa_page(&st, &e, None, StatusCode::OK))
}

fn mfa_page(
    st: &Staff,
    e: &crate::service::identity::mfa::Enrolment,
    message: Option<String>,
    status: StatusCode,
) -> Response {
    let tr = Tr(st.lang);
    let qr =
        format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(e.qr_svg.as_bytes()));
    let mut r = st.render(
        "mfa.html",
        tr.get("mfa_title"),
        context! { qr, secret => e.secret_base32.clone(), must => st.actor.must_enrol_mfa, message },
    );
    *r.status_mut() = status;
    r
}

#[derive(Deserialize)]
pub struct MfaCode {
    code: String,
}

/// Confirms the enrolment with a code; shows the recovery codes once.
pub async fn mfa_submit(p: Posted<MfaCode>) -> Page {
    let (st, f) = (p.staff, p.form);
    let tr = Tr(st.lang);
    match st.state.vault.mfa_confirm(&st.actor, &f.code).await {
        Ok(codes) => Ok(st.render("mfa.html", tr.get("mfa_title"), context! { codes })),
        Err(ServiceError::Invalid(_)) | Err(ServiceError::BadCredentials) => {
            // A wrong code: a new seed, so the form and the app agree again.
            let e = st.state.vault.mfa_enrol(&st.actor).await.or_page(&st)?;
            Ok(mfa_page(&st, &e, Some(tr.get("code_wrong").to_string()), StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(st.error(e)),
    }
}

/// One's own preferences: the console's language and time zone.
pub async fn preferences_form(st: Staff) -> Response {
    let tr = Tr(st.lang);
    let p = &st.actor.prefs;
    st.render(
        "preferences.html",
        tr.get("preferences"),
        context! { language => p.language.map(|l| l.code()), time_zone => p.time_zone.clone(), zones => ZONES },
    )
}

/// Time zones offered first (any IANA name is taken).
const ZONES: &[&str] = &["Europe/Ljubljana", "Europe/Vienna", "Europe/Berlin", "Europe/London", "Europe/Dublin", "UTC"];

#[derive(Deserialize)]
pub struct PrefsForm {
    #[serde(default)]
    language: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn preferences_submit(p: Posted<PrefsForm>) -> Response {
    let (st, f) = (p.staff, p.form);
    let language = Some(f.language.as_str()).filter(|l| !l.is_empty());
    let zone = Some(f.time_zone.trim()).filter(|z| !z.is_empty());
    match st.state.vault.set_preferences(&st.actor, language, zone).await {
        Ok(_) => {
            let mut r = see_other("/console/preferences");
            if let Some(l) = language {
                r.headers_mut().append(header::SET_COOKIE, set_cookie(&st.state, LANG_COOKIE, Some(l)));
            }
            r
        }
        Err(ServiceError::Invalid(i)) => {
            let tr = Tr(st.lang);
            let mut r = st.render(
                "preferences.html",
                tr.get("preferences"),
                context! { language, time_zone => zone, zones => ZONES, message => i.to_string() },
            );
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e) => st.error(e),
    }
}

#[derive(Deserialize)]
struct Language {
    lang: String,
}

/// Chooses the console's language on this browser (before or after
/// sign-in), then goes back to the console's start.
pub async fn language(State(s): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let lang = lang_of(&parts.headers);
    let Ok(bytes) = axum::body::to_bytes(body, 4096).await else { return forbidden_form(lang) };
    let sent = form_field(&bytes, "csrf").unwrap_or_default();
    let expected = match cookie(&parts.headers, SESSION_COOKIE) {
        Some(token) => s.vault.form_token(&token),
        None => cookie(&parts.headers, PRE_COOKIE).unwrap_or_default(),
    };
    if expected.is_empty() || !same(&sent, &expected) {
        return forbidden_form(lang);
    }
    let chosen = match parse_form::<Language>(&bytes).ok().and_then(|l| Lang::parse(&l.lang)) {
        Some(l) => l,
        None => return bare_error(lang, crate::domain::Invalid::new("lang", "must be en or sl").into()),
    };
    // Signed in: the choice is the account's, on every browser.
    if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
        if let Ok(actor) = s.vault.authenticate(&request_meta(&parts), &token).await {
            let zone = actor.prefs.time_zone.clone();
            if let Err(e) = s.vault.set_preferences(&actor, Some(chosen.code()), zone.as_deref()).await {
                return bare_error(lang, e);
            }
        }
    }
    let mut r = see_other("/console/");
    r.headers_mut().append(header::SET_COOKIE, set_cookie(&s, LANG_COOKIE, Some(chosen.code())));
    r
}
