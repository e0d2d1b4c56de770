//! RFC 9457 problem details: the one error shape of the API. A problem names
//! the field at fault where there is one, and never carries a personal value
//! or an internal error's text.

use crate::service::ServiceError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The request field at fault, as a path (`data.email`, `fields[2].category`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every request field at fault, when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub fields: Option<Box<[String]>>,
    /// An import's rows at fault (row number from 1, column, rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<RowProblem>>)]
    pub rows: Option<Box<Vec<RowProblem>>>,
}

/// One row's problem in an import (never the value).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowProblem {
    pub row: usize,
    pub column: String,
    pub problem: String,
}

impl From<&crate::domain::import::RowError> for RowProblem {
    fn from(e: &crate::domain::import::RowError) -> Self {
        RowProblem { row: e.row, column: e.column.clone(), problem: e.problem.clone() }
    }
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("https://varuh.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            fields: None,
            rows: None,
        }
    }

    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }

    pub fn not_found(what: &str) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("{what} not found"))
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        let detail = format!("{field} {}", detail.into());
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "Invalid request", detail).field(field)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauth = status == StatusCode::UNAUTHORIZED;
        let mut resp = (status, axum::Json(self)).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if unauth {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        use ServiceError::*;
        match e {
            Unauthenticated => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                "a valid bearer token is required",
            ),
            BadCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "bad-credentials",
                "Invalid credentials",
                "the login name or password is wrong",
            ),
            Forbidden(why) => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", why),
            Restricted(why) => Problem::new(
                StatusCode::FORBIDDEN,
                "processing-restricted",
                "Processing restricted for this purpose",
                why,
            ),
            PasswordChangeRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "password-change-required",
                "Password change required",
                "change your password (POST /v1/auth/password) before anything else",
            ),
            MfaEnrolmentRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "mfa-enrolment-required",
                "Second factor required",
                "your policy requires a second factor: enrol one (POST /v1/auth/mfa/enrol) before anything else",
            ),
            MfaRequired => Problem::new(
                StatusCode::UNAUTHORIZED,
                "mfa-required",
                "Second factor required",
                "send the code of your authenticator app (otp) or a recovery code (recovery_code)",
            ),
            RateLimited => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                "too many sign-in attempts from this address; wait a minute",
            ),
            NotFound(what) => Problem::not_found(what),
            Invalid(i) => Problem::invalid(i.field, i.message),
            Conflict(why) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", why),
            IdentifierConflict(fields) => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "identifier-conflict",
                    "Identifiers name different subjects",
                    format!(
                        "{} identify different data subjects; an identifier belongs to one person. \
                         Nothing was written. If they are one person, a DPO can merge the subjects",
                        fields.join(", ")
                    ),
                );
                p.field = fields.first().cloned();
                p.fields = Some(fields.clone().into_boxed_slice());
                p
            }
            RowsInvalid(errors) => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "import-rejected",
                    "Rows of the import are invalid",
                    format!(
                        "{} problem(s) in the rows; nothing was imported (send skip_bad_rows to import the rest)",
                        errors.len()
                    ),
                );
                p.field = Some("csv".into());
                p.rows = Some(Box::new(errors.iter().take(1000).map(RowProblem::from).collect()));
                p
            }
            Stale => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "stale",
                "Precondition failed",
                "the record was changed since the version given",
            ),
            Unavailable(m) if m.contains(crate::store::DISK_FULL) => {
                tracing::error!("a write was refused: the store's disk is full");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "disk-full",
                    "Service unavailable",
                    crate::store::DISK_FULL,
                )
            }
            Unavailable(m) => {
                tracing::warn!(error = %m, "store unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "the store is not available; try again",
                )
            }
            NotConfigured(m) => Problem::new(StatusCode::CONFLICT, "not-configured", "Not configured", m),
            Backup(m) => {
                tracing::error!(error = %m, "backup");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "backup", "Backup failed", m)
            }
            NotPublished(m) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-published", "Tree head not published", m)
            }
            Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "an internal error occurred; it has been logged",
                )
            }
        }
    }
}

pub type ApiResult<T> = Result<T, Problem>;
