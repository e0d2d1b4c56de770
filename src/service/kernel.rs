//! The one entry point of every use case. A use case names its
//! [`Action`] and target in a [`Call`], and [`Vault::run`] does, in order:
//! the session state (a generated password not yet changed, MFA not yet
//! enrolled: only one's own account may be used), the tenant (another
//! tenant's objects are "not found", CONF-4), the permission
//! (`domain::access::permit`: role, grants, API-key scope), then starts the
//! audit record and runs the work inside it (`Vault::audited`). Nothing here
//! reads the database: the actor's role and grants come with the session,
//! tenants from the tenant cache, so the check adds no round trip.
//!
//! Composition: a use case that calls others (an access report, an erasure)
//! runs them as steps with [`Vault::also`], which checks the step's own
//! permission in the same audit scope instead of opening a nested one.
//! Four-eyes (ACC-3): a call whose action the tenant's policy holds for
//! approval is stored as a command and run later, as its requester.

use super::{Actor, Result, ServiceError, TenantCtx, Vault};
use crate::audit::Draft;
use crate::domain::access::{self, Action, Scope};
use std::future::Future;
use std::sync::Arc;
use uuid::Uuid;

/// What a use case is about to do: the action, the tenant and collection
/// it acts on (for the checks), and the start of its audit event.
pub(crate) struct Call<'a> {
    pub actor: &'a Actor,
    pub action: Action,
    pub tenant: Option<Uuid>,
    pub collection: Option<String>,
    pub draft: Draft,
}

impl<'a> Call<'a> {
    pub fn collection(mut self, name: &str) -> Self {
        self.collection = Some(name.to_string());
        self.draft.collection = Some(name.to_string());
        self
    }
    pub fn subject(mut self, id: Uuid) -> Self {
        self.draft.subject = Some(id);
        self
    }
    pub fn record(mut self, id: Uuid) -> Self {
        self.draft.record = Some(id);
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.draft.detail = Some(d.into());
        self
    }
    pub fn fields_of<'b>(mut self, names: impl Iterator<Item = &'b String>) -> Self {
        self.draft.fields = names.cloned().collect();
        self
    }
}

/// What the checks established, handed to the work.
pub(crate) struct Cx<'a> {
    pub actor: &'a Actor,
    tenant: Option<Arc<TenantCtx>>,
}

impl Cx<'_> {
    /// The tenant acted on (the call named one).
    pub fn tenant(&self) -> Result<&Arc<TenantCtx>> {
        self.tenant.as_ref().ok_or_else(|| ServiceError::Internal("a tenant use case ran without a tenant".into()))
    }
}

impl Vault {
    /// A call of `action` by `actor` on `tenant` (`None`: system-wide).
    pub(crate) fn call<'a>(&self, actor: &'a Actor, action: Action, tenant: Option<Uuid>) -> Call<'a> {
        let draft = self.draft(actor, action.name(), tenant);
        Call { actor, action, tenant, collection: None, draft }
    }

    /// Checks the call, then runs `work` inside its audit record; `fill`
    /// adds to the event what only the result knows.
    pub(crate) async fn run<'a, T, F, Fut>(
        &self,
        call: Call<'a>,
        work: F,
        fill: impl FnOnce(&T, &mut Draft),
    ) -> Result<T>
    where
        F: FnOnce(Cx<'a>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let Call { actor, action, tenant, collection, mut draft } = call;
        if let Some(a) = actor.approval {
            // An approved command running as its requester, or the local operator.
            let note = if a.is_nil() { "via=local".to_string() } else { format!("approval={a}") };
            draft.detail = Some(match draft.detail.take() {
                Some(d) => format!("{d} {note}"),
                None => note,
            });
        }
        self.audited(
            draft,
            async move {
                let cx = self.admit(actor, action, tenant, collection.as_deref()).await?;
                work(cx).await
            },
            fill,
        )
        .await
    }

    /// The checks of [`Vault::run`], in their order.
    async fn admit<'a>(
        &self,
        actor: &'a Actor,
        action: Action,
        tenant: Option<Uuid>,
        collection: Option<&str>,
    ) -> Result<Cx<'a>> {
        let rule = action.rule();
        if rule.scope == Scope::Anonymous {
            return Err(ServiceError::Forbidden(access::Denied::Role(&[]).message()));
        }
        if rule.scope != Scope::Account {
            if actor.must_change_password {
                return Err(ServiceError::PasswordChangeRequired);
            }
            if actor.must_enrol_mfa {
                return Err(ServiceError::MfaEnrolmentRequired);
            }
        }
        let t = match tenant {
            Some(id) if rule.scope != Scope::Account => Some(self.tenant_for(actor, id).await?),
            _ => None,
        };
        let system_wide = tenant.is_none() && rule.scope == Scope::Tenant;
        let system = actor.tenant.is_none();
        if system_wide && !system {
            return Err(ServiceError::Forbidden(access::Denied::SystemOnly.message()));
        }
        access::permit(rule, actor.role, system, &actor.access, collection)
            .map_err(|d| ServiceError::Forbidden(d.message()))?;
        Ok(Cx { actor, tenant: t })
    }

    /// The checks alone, for a use case that must refuse before it reads
    /// what it needs to name its full target (an approval's stored command).
    pub(crate) async fn admit_only(&self, actor: &Actor, action: Action, tenant: Option<Uuid>) -> Result<()> {
        self.admit(actor, action, tenant, None).await.map(|_| ())
    }

    /// A step of a composed use case: checks `action`'s own permission for
    /// the same actor and tenant, without a new audit scope.
    pub(crate) fn also(&self, cx: &Cx<'_>, action: Action, collection: Option<&str>) -> Result<()> {
        access::permit(action.rule(), cx.actor.role, cx.actor.tenant.is_none(), &cx.actor.access, collection)
            .map_err(|d| ServiceError::Forbidden(d.message()))
    }
}
