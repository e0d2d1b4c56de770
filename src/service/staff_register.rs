//! The staff register (REG-3): each person who handles the tenant's
//! personal data, with the confidentiality statement's date, the
//! trainings, the start and end of work and the offboarding checklist, in
//! one view per person that joins their varuh account (its state and the
//! checklist items recorded when it was offboarded, `identity/staff.rs`).
//! The register lists what is due and overdue (`domain::staff_register::
//! dues`, on the tenant's `training_within_days` and
//! `training_every_months`) and the accounts no entry covers; reminders of
//! the dues go through `reminders.rs`. A person's name and details are
//! sealed with the tenant's key; audit events carry the entry's id only.

use super::{Actor, Result, ServiceError, TenantCtx, Vault};
use crate::domain::access::Action;
use crate::domain::staff_register::{self, Due, DueState, Rules, StaffEntry, OFFBOARDING_ITEMS};
use crate::domain::Invalid;
use crate::store::queries::{self, StaffEntryRow};
use crate::store::StoreError;
use uuid::Uuid;

/// The account a person signs in with, as the register shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccountSummary {
    #[schema(value_type = String)]
    pub id: Uuid,
    pub username: String,
    pub role: String,
    /// `active`, `suspended` or `offboarded`.
    pub state: String,
    pub mfa_enabled: bool,
    pub last_login_at: Option<String>,
}

/// One checklist item: done (when, and where it was recorded) or open.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub item: String,
    /// YYYY-MM-DD, if done.
    pub done_on: Option<String>,
    /// `account` (recorded by offboarding the account) or `register`.
    pub recorded_in: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PersonView {
    pub row: StaffEntryRow,
    pub entry: StaffEntry,
    pub account: Option<AccountSummary>,
    /// Shown once the person has a last day or their account was offboarded.
    pub offboarding: Vec<ChecklistItem>,
    pub dues: Vec<Due>,
}

/// One line of the due and overdue list.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DueLine {
    #[schema(value_type = String)]
    pub entry: Uuid,
    pub name: String,
    #[serde(flatten)]
    pub due: Due,
}

#[derive(Debug, Clone)]
pub struct StaffRegister {
    pub people: Vec<PersonView>,
    /// Every due and overdue item, overdue first, then by date.
    pub due: Vec<DueLine>,
    /// Accounts of people (not programs) that no entry covers.
    pub accounts_not_in_register: Vec<AccountSummary>,
}

fn context(tenant: Uuid, id: Uuid) -> String {
    format!("varuh/staff-register/v1/{tenant}/{id}")
}

impl Vault {
    pub async fn create_staff_entry(
        &self,
        actor: &Actor,
        tenant: Uuid,
        e: StaffEntry,
        horizon_days: u32,
    ) -> Result<PersonView> {
        let call = self.call(actor, Action::StaffRegisterCreate, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                self.check_staff_entry(tenant, &e).await?;
                let now = self.clock.now_ms();
                let row = seal(&t, Uuid::now_v7(), &e, now, now, 1)?;
                let stored = row.clone();
                self.write_recorded(move |db, d| {
                    d.detail = Some(format!("entry={}", stored.id));
                    queries::insert_staff_entry(db, tenant, &stored)
                })
                .await
                .map_err(write_error)?;
                self.person_view(&t, row, e, horizon_days).await
            },
            |_, _| {},
        )
        .await
    }

    /// Replaces an entry at the version read (409 if another change came first).
    pub async fn update_staff_entry(
        &self,
        actor: &Actor,
        tenant: Uuid,
        id: Uuid,
        version: i64,
        e: StaffEntry,
        horizon_days: u32,
    ) -> Result<PersonView> {
        let call = self.call(actor, Action::StaffRegisterUpdate, Some(tenant)).detail(format!("entry={id}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let old = self
                    .store
                    .read_latest(move |db| queries::get_staff_entry(db, tenant, id))
                    .await?
                    .ok_or(ServiceError::NotFound("staff register entry"))?;
                self.check_staff_entry(tenant, &e).await?;
                let row = seal(&t, id, &e, old.created_at, self.clock.now_ms(), version + 1)?;
                let stored = row.clone();
                self.write_recorded(move |db, _| queries::update_staff_entry(db, tenant, &stored, version))
                    .await
                    .map_err(write_error)?;
                self.person_view(&t, row, e, horizon_days).await
            },
            |_, _| {},
        )
        .await
    }

    /// One person's view.
    pub async fn get_staff_entry(
        &self,
        actor: &Actor,
        tenant: Uuid,
        id: Uuid,
        horizon_days: u32,
    ) -> Result<PersonView> {
        let call = self.call(actor, Action::StaffRegisterRead, Some(tenant)).detail(format!("entry={id}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let row = self
                    .store
                    .read_latest(move |db| queries::get_staff_entry(db, tenant, id))
                    .await?
                    .ok_or(ServiceError::NotFound("staff register entry"))?;
                let entry = open(&t, &row)?;
                self.person_view(&t, row, entry, horizon_days).await
            },
            |_, _| {},
        )
        .await
    }

    /// The register, its due and overdue list (dues within `horizon_days`
    /// count as due) and the accounts it lacks.
    pub async fn list_staff_register(&self, actor: &Actor, tenant: Uuid, horizon_days: u32) -> Result<StaffRegister> {
        let call = self.call(actor, Action::StaffRegisterList, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                self.staff_register(&t, horizon_days).await
            },
            |r: &StaffRegister, d| {
                let overdue = r.due.iter().filter(|l| l.due.state == DueState::Overdue).count();
                d.detail = Some(format!("people={} due={} overdue={overdue}", r.people.len(), r.due.len()))
            },
        )
        .await
    }

    pub(super) async fn staff_register(&self, t: &TenantCtx, horizon_days: u32) -> Result<StaffRegister> {
        let tenant = t.id;
        let rows = self.store.read(move |db| queries::list_staff_entries(db, tenant)).await?;
        let mut people = Vec::with_capacity(rows.len());
        for r in rows {
            let entry = open(t, &r)?;
            people.push(self.person_view(t, r, entry, horizon_days).await?);
        }
        let mut due: Vec<DueLine> = people
            .iter()
            .flat_map(|p| {
                p.dues.iter().filter(|d| d.state != DueState::Scheduled).map(|d| DueLine {
                    entry: p.row.id,
                    name: p.entry.name.clone(),
                    due: d.clone(),
                })
            })
            .collect();
        due.sort_by(|a, b| {
            (a.due.state != DueState::Overdue, &a.due.due_on).cmp(&(b.due.state != DueState::Overdue, &b.due.due_on))
        });
        let now = self.clock.now_ms();
        let mut accounts_not_in_register = Vec::new();
        for s in self.store.read(move |db| queries::list_staff(db, Some(tenant))).await? {
            let covered = people.iter().any(|p| p.row.account_id == Some(s.id));
            if !covered && s.role != crate::domain::Role::Service.as_str() && s.offboarded_at.is_none() {
                accounts_not_in_register.push(self.account_summary(&s, now)?);
            }
        }
        accounts_not_in_register.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(StaffRegister { people, due, accounts_not_in_register })
    }

    async fn check_staff_entry(&self, tenant: Uuid, e: &StaffEntry) -> Result<()> {
        e.validate()?;
        if let Some(a) = e.account {
            let s = self.store.read_latest(move |db| queries::staff_by_id(db, a)).await?;
            if s.is_none_or(|s| s.tenant_id != Some(tenant)) {
                return Err(Invalid::new("account", "must be a staff account of this tenant").into());
            }
        }
        Ok(())
    }

    fn account_summary(&self, s: &queries::StaffRow, now: i64) -> Result<AccountSummary> {
        let i = self.staff_info(s, now)?;
        let state = if i.offboarded_at.is_some() {
            "offboarded"
        } else if i.suspended {
            "suspended"
        } else {
            "active"
        };
        Ok(AccountSummary {
            id: i.id,
            username: i.username,
            role: i.role.as_str().into(),
            state: state.into(),
            mfa_enabled: i.mfa_enabled,
            last_login_at: i.last_login_at.map(crate::clock::rfc3339),
        })
    }

    async fn person_view(
        &self,
        t: &TenantCtx,
        row: StaffEntryRow,
        entry: StaffEntry,
        horizon: u32,
    ) -> Result<PersonView> {
        let now = self.clock.now_ms();
        let (account, recorded) = match row.account_id {
            Some(a) => {
                let s = self.store.read_latest(move |db| queries::staff_by_id(db, a)).await?;
                let items = self.store.read_latest(move |db| queries::offboarding_of(db, a)).await?;
                (s.map(|s| self.account_summary(&s, now)).transpose()?, items)
            }
            None => (None, Vec::new()),
        };
        let done_on_account: Vec<String> = recorded.iter().map(|i| i.0.clone()).collect();
        let offboarded = account.as_ref().is_some_and(|a| a.state == "offboarded");
        let offboarding = if entry.left_on.is_some() || offboarded {
            OFFBOARDING_ITEMS
                .iter()
                .map(|item| {
                    let (done_on, recorded_in) =
                        match (entry.offboarding.get(*item), recorded.iter().find(|r| r.0 == *item)) {
                            (_, Some(r)) => (Some(staff_register::date_text(crate::clock::day(r.2))), Some("account")),
                            (Some(on), None) => (Some(on.clone()), Some("register")),
                            (None, None) => (None, None),
                        };
                    ChecklistItem { item: item.to_string(), done_on, recorded_in: recorded_in.map(str::to_string) }
                })
                .collect()
        } else {
            Vec::new()
        };
        let st = self.settings(t.id).await?;
        let rules = Rules {
            training_within_days: st.training_within_days(),
            training_every_months: st.training_every_months(),
            horizon_days: horizon,
        };
        let dues = staff_register::dues(&entry, &done_on_account, rules, crate::clock::day(now));
        Ok(PersonView { row, entry, account, offboarding, dues })
    }
}

fn open(t: &TenantCtx, row: &StaffEntryRow) -> Result<StaffEntry> {
    let plain = t.keys.open(&context(t.id, row.id), &row.details).map_err(|e| ServiceError::Internal(e.to_string()))?;
    serde_json::from_slice(&plain)
        .map_err(|_| ServiceError::Internal("a stored staff register entry is not JSON".into()))
}

fn seal(t: &TenantCtx, id: Uuid, e: &StaffEntry, created: i64, now: i64, version: i64) -> Result<StaffEntryRow> {
    let json = serde_json::to_vec(e).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(StaffEntryRow {
        id,
        account_id: e.account,
        details: t.keys.seal(&context(t.id, id), &json),
        created_at: created,
        updated_at: now,
        version,
    })
}

fn write_error(e: StoreError) -> ServiceError {
    super::processors::register_write_error(e, Invalid::new("account", "another entry holds this account"))
}
