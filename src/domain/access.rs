//! Who may do what (ACC-1..3), as data: every use case is an [`Action`],
//! and each action has one [`Rule`] in [`RULES`] saying where it acts
//! ([`Scope`]), which roles may run it, which data operation ([`Op`]) it is
//! (for operators' grants and service clients' API-key scopes), and whether
//! a tenant may put it under four-eyes approval. The service kernel checks
//! calls against this table and nothing else; `varuh policy show` prints it,
//! the authorisation-matrix test is generated from it, and the TOMs statement
//! will cite it. Pure: no I/O.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Staff roles (ACC-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Manages the tenant: staff, grants, collections, policy; all data.
    Administrator,
    /// Data-protection officer: answers data subjects (reads, rectifies,
    /// erases, exports), reads the audit trail and the registers.
    Dpo,
    /// Works with personal data, only in the collections and operations granted.
    Operator,
    /// Reads the audit trail and registers of its tenant, never a personal value.
    Auditor,
    /// A program using an API key, limited to the key's collections and operations.
    Service,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Administrator, Role::Dpo, Role::Operator, Role::Auditor, Role::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Dpo => "dpo",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
            Role::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Roles a person (not a program) can hold: what `POST …/staff` accepts.
    pub const PEOPLE: [Role; 4] = [Role::Administrator, Role::Dpo, Role::Operator, Role::Auditor];
}

/// Operations on personal data, as granted to operators and API keys (ACC-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Read,
    Write,
    Erase,
    Export,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Read, Op::Write, Op::Erase, Op::Export];
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::Erase => "erase",
            Op::Export => "export",
        }
    }
}

/// Where an action acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole deployment: only system staff (no tenant).
    System,
    /// One tenant: its own staff, or system staff. A call with no tenant is
    /// a system-wide one and needs system staff.
    Tenant,
    /// The caller's own account: any signed-in person, even one who must
    /// change a generated password or enrol MFA first.
    Account,
    /// Before anyone is signed in (login, a bad token): recorded, not checked.
    Anonymous,
}

/// One row of the permission table.
#[derive(Debug)]
pub struct Rule {
    pub action: Action,
    pub scope: Scope,
    pub roles: &'static [Role],
    /// The data operation, for grants and API-key scopes.
    pub op: Option<Op>,
    /// A tenant may require a second person's approval for it (ACC-3).
    pub four_eyes: bool,
    pub summary: &'static str,
}

const ADMIN: &[Role] = &[Role::Administrator];
const ANY: &[Role] = &[Role::Administrator, Role::Dpo, Role::Operator, Role::Auditor, Role::Service];
const PEOPLE: &[Role] = &[Role::Administrator, Role::Dpo, Role::Operator, Role::Auditor];
const STAFF_ADMIN: &[Role] = &[Role::Administrator];
const DATA: &[Role] = &[Role::Administrator, Role::Dpo, Role::Operator, Role::Service];
const DPO: &[Role] = &[Role::Administrator, Role::Dpo];
/// Data-subject requests: the DPO, and the controller's own software.
const RIGHTS: &[Role] = &[Role::Administrator, Role::Dpo, Role::Service];
const AUDIT: &[Role] = &[Role::Administrator, Role::Dpo, Role::Auditor];
const NONE: &[Role] = &[];

macro_rules! actions {
    ($($v:ident = $name:literal, $scope:ident, $roles:expr, $op:expr, $fe:expr, $summary:literal;)*) => {
        /// Every use case of varuh. Its name is the audit event's `action`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($v),* }

        /// The permission table: one rule per action, in the order of [`Action`].
        pub const RULES: &[Rule] = &[
            $(Rule { action: Action::$v, scope: Scope::$scope, roles: $roles, op: $op, four_eyes: $fe, summary: $summary }),*
        ];

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$v),*];
            pub fn name(self) -> &'static str {
                match self { $(Action::$v => $name),* }
            }
        }
    };
}

actions! {
    // Identity: one's own account and sign-in.
    Login = "auth.login", Anonymous, NONE, None, false, "sign in with a login name, password and second factor";
    Session = "auth.session", Anonymous, NONE, None, false, "a request with a missing, expired or revoked token";
    Logout = "auth.logout", Account, ANY, None, false, "end one's own session";
    Me = "auth.me", Account, ANY, None, false, "who one is signed in as";
    PasswordChange = "auth.password.change", Account, PEOPLE, None, false, "change one's own password";
    MfaEnrol = "auth.mfa.enrol", Account, PEOPLE, None, false, "start TOTP enrolment (otpauth URI, QR code)";
    MfaConfirm = "auth.mfa.confirm", Account, PEOPLE, None, false, "confirm TOTP enrolment with a code; get recovery codes";
    RecoveryRegenerate = "auth.mfa.recovery", Account, PEOPLE, None, false, "replace one's recovery codes";
    SessionList = "auth.sessions.list", Account, PEOPLE, None, false, "list one's own sessions";
    SessionRevoke = "auth.sessions.revoke", Account, PEOPLE, None, false, "revoke one of one's own sessions";
    PreferencesChange = "auth.preferences", Account, PEOPLE, None, false, "set one's own language and time zone (the console's)";
    // Staff administration.
    StaffBootstrap = "staff.bootstrap", Anonymous, NONE, None, false, "the first administrator, made at first start";
    StaffCreate = "staff.create", Tenant, STAFF_ADMIN, None, false, "create a staff account";
    StaffList = "staff.list", Tenant, STAFF_ADMIN, None, false, "list staff accounts";
    StaffRead = "staff.read", Tenant, STAFF_ADMIN, None, false, "read a staff account";
    GrantsChange = "grants.change", Tenant, STAFF_ADMIN, None, true, "change an account's role, grants or field masks";
    StaffSuspend = "staff.suspend", Tenant, STAFF_ADMIN, None, false, "suspend an account: every session and API key ends";
    StaffReactivate = "staff.reactivate", Tenant, STAFF_ADMIN, None, false, "reactivate a suspended account";
    StaffOffboard = "staff.offboard", Tenant, STAFF_ADMIN, None, false, "record offboarding (card, keys, accounts) and close the account";
    StaffUnlock = "staff.unlock", Tenant, STAFF_ADMIN, None, false, "lift a lockout after failed sign-ins";
    StaffResetPassword = "staff.reset_password", Tenant, STAFF_ADMIN, None, false, "give an account a new one-time password";
    StaffResetMfa = "staff.reset_mfa", Tenant, STAFF_ADMIN, None, false, "remove an account's second factor (it must enrol again)";
    IncidentReset = "tenant.incident_reset", Tenant, STAFF_ADMIN, None, false, "force every account of a tenant to change password; end its sessions";
    AccessReview = "staff.review", Tenant, AUDIT, None, false, "the access review: every account, its rights and state";
    ApiKeyCreate = "apikey.create", Tenant, STAFF_ADMIN, None, false, "create an API key for a service client";
    ApiKeyList = "apikey.list", Tenant, STAFF_ADMIN, None, false, "list API keys";
    ApiKeyRevoke = "apikey.revoke", Tenant, STAFF_ADMIN, None, false, "revoke an API key";
    PolicyRead = "policy.read", Tenant, AUDIT, None, false, "read the security policy";
    PolicyChange = "policy.change", Tenant, STAFF_ADMIN, None, true, "change the security policy";
    ApprovalList = "approval.list", Tenant, AUDIT, None, false, "list four-eyes approvals and their decisions";
    ApprovalDecide = "approval.decide", Tenant, DPO, None, false, "approve or reject another person's pending operation";
    // Tenants and collections.
    TenantCreate = "tenant.create", System, ADMIN, None, false, "create a tenant";
    TenantList = "tenant.list", Tenant, ANY, None, false, "list tenants (one's own)";
    TenantRead = "tenant.read", Tenant, ANY, None, false, "read a tenant";
    TenantSettingsRead = "tenant.settings.read", Tenant, PEOPLE, None, false, "read the tenant's settings (DPO contact, reminders, supervisory authority)";
    TenantSettingsChange = "tenant.settings.change", Tenant, DPO, None, false, "change the tenant's settings (DPO contact, reminders, supervisory authority)";
    CollectionCreate = "collection.create", Tenant, ADMIN, None, false, "create a collection (processing activity)";
    CollectionList = "collection.list", Tenant, ANY, None, false, "list collections";
    CollectionRead = "collection.read", Tenant, ANY, None, false, "read a collection's definition";
    // Subjects and records: personal data.
    SubjectFindOrCreate = "subject.find_or_create", Tenant, DATA, Some(Op::Write), false, "find a subject by identifiers, or create one";
    SubjectRead = "subject.read", Tenant, DATA, Some(Op::Read), false, "read a subject";
    SubjectLookup = "subject.lookup", Tenant, DATA, Some(Op::Read), false, "find a subject by an identifier";
    SubjectSearch = "subject.search", Tenant, DATA, Some(Op::Read), false, "list the subjects with an identifier or a searchable attribute";
    SubjectRecords = "subject.records.read", Tenant, DATA, Some(Op::Read), false, "read every record about a subject";
    SubjectSeen = "subject.seen", Tenant, DATA, Some(Op::Read), false, "a subject's records were shown in a list";
    SubjectAccessReport = "subject.access_report", Tenant, RIGHTS, None, false, "the access report: everything about a subject, with purposes, bases, retention, recipients and rights (Art. 15)";
    SubjectPortability = "subject.portability", Tenant, RIGHTS, None, false, "the portability archive: the data a subject provided, as JSON and CSV (Art. 20)";
    RequestOpen = "request.open", Tenant, RIGHTS, None, false, "open a data-subject request in the register";
    RequestList = "request.list", Tenant, RIGHTS, None, false, "list the request register (all, a state, overdue)";
    RequestRead = "request.read", Tenant, RIGHTS, None, false, "read a data-subject request and its history";
    RequestVerify = "request.verify", Tenant, RIGHTS, None, false, "record how the requester's identity was verified";
    RequestStart = "request.start", Tenant, RIGHTS, None, false, "start work on a verified request";
    RequestExtend = "request.extend", Tenant, RIGHTS, None, false, "extend a request's deadline by up to two months, with a reason";
    RequestComplete = "request.complete", Tenant, RIGHTS, None, false, "close a request as done, with the response sent";
    RequestRefuse = "request.refuse", Tenant, RIGHTS, None, false, "refuse a request, with the reason";
    SubjectMerge = "subject.merge", Tenant, DPO, None, false, "merge two subjects found to be one person (records sealed again under one key)";
    SubjectSplit = "subject.split", Tenant, DPO, None, false, "split records off a subject into a new subject (another person)";
    SubjectErase = "subject.erase", Tenant, DATA, Some(Op::Erase), true, "erase a subject per each collection's rule (delete, anonymise, or keep by law); its key when nothing remains";
    SubjectLimitSet = "subject.limit.set", Tenant, RIGHTS, None, false, "restrict (Art. 18) or object to (Art. 21) processing of a subject's data";
    SubjectLimitLift = "subject.limit.lift", Tenant, RIGHTS, None, false, "lift a restriction or objection, with the reason";
    SubjectLimitList = "subject.limit.list", Tenant, RIGHTS, None, false, "list a subject's restrictions and objections";
    ConsentNoticeCreate = "consent.notice.create", Tenant, DPO, None, false, "store the next version of a purpose's consent notice (the exact text shown)";
    ConsentNoticeList = "consent.notice.list", Tenant, ANY, None, false, "list the consent notices of every purpose and version";
    ConsentRecord = "consent.record", Tenant, DATA, Some(Op::Write), false, "record consent given or withdrawn (a withdrawal runs the erasure rule where nothing else keeps the data)";
    ConsentHistory = "consent.history", Tenant, DATA, Some(Op::Read), false, "read a subject's consent events with their evidence";
    MayI = "consent.may", Tenant, DATA, Some(Op::Read), false, "may a purpose be applied to a subject now? (consent, basis, restriction, objection)";
    MayIBulk = "consent.may_bulk", Tenant, DATA, Some(Op::Read), false, "\"may I?\" for a mailing list of e-mail addresses";
    RecipientCreate = "recipient.create", Tenant, DPO, None, false, "add a recipient (with the contacts notices go to) to the register";
    RecipientList = "recipient.list", Tenant, PEOPLE, None, false, "list the tenant's recipients";
    DisclosureRecord = "disclosure.record", Tenant, DATA, Some(Op::Export), false, "record a disclosure of subjects' data to a recipient";
    SubjectDisclosures = "subject.disclosures", Tenant, RIGHTS, None, false, "a subject's disclosures and the Art. 19 notices owed to their recipients";
    RecordCreate = "record.create", Tenant, DATA, Some(Op::Write), false, "store a record";
    RecordRead = "record.read", Tenant, DATA, Some(Op::Read), false, "read a record";
    RecordList = "record.list", Tenant, DATA, Some(Op::Read), false, "read a page of a collection's records";
    RecordsExport = "records.export", Tenant, DATA, Some(Op::Export), true, "export every record of a collection";
    RecordsAnonymised = "records.anonymised", Tenant, DATA, Some(Op::Read), false, "read a collection's anonymised records (kept by its erasure rule, cut from any subject)";
    RecordsImport = "records.import", Tenant, DATA, Some(Op::Write), false, "import a CSV contact list into a collection (all rows or none, unless bad rows are skipped)";
    RecordUpdate = "record.update", Tenant, DATA, Some(Op::Write), false, "change a record";
    RecordDelete = "record.delete", Tenant, DATA, Some(Op::Erase), false, "delete a record";
    // Retention and legal holds.
    RetentionEventRecord = "retention.event", Tenant, DATA, Some(Op::Write), false, "record a subject's retention event (a contract ended, a purpose ended) that a collection's retention counts from";
    RetentionRun = "retention.run", Tenant, DPO, None, false, "run the retention sweep now, or see what it would do (dry run)";
    LegalHoldSet = "legal_hold.set", Tenant, DPO, None, false, "put a subject, record or collection under a legal hold: retention and erasure stop";
    LegalHoldLift = "legal_hold.lift", Tenant, DPO, None, false, "lift a legal hold, with the reason";
    LegalHoldList = "legal_hold.list", Tenant, AUDIT, None, false, "list the legal holds and who set and lifted them";
    // Breaches (BRE-1..3).
    BreachRecord = "breach.record", Tenant, DPO, None, false, "record a personal-data breach in the register";
    BreachUpdate = "breach.update", Tenant, DPO, None, false, "change what a breach record says (containment, numbers, risk, the subjects' decision, closing it)";
    BreachList = "breach.list", Tenant, AUDIT, None, false, "list the breach register and its due and overdue clocks";
    BreachRead = "breach.read", Tenant, AUDIT, None, false, "read a breach with its clocks and notifications";
    BreachNotify = "breach.notify", Tenant, DPO, None, false, "record a notification of a breach (controller, authority, subjects; initial or follow-up)";
    BreachDocument = "breach.document", Tenant, AUDIT, None, false, "the notification documents of a breach (authority, controller, subjects; English or Slovenian)";
    BreachScope = "breach.scope", Tenant, DPO, None, false, "what a compromised account, API key or address touched in a time window, from the audit trail (and the breach's numbers from it)";
    BreachScopeAll = "breach.scope_all", System, ADMIN, None, false, "a breach's scope across every tenant, with the controllers to notify (the processor's)";
    // Registers (REG-2..4).
    ProcessorCreate = "processor.create", Tenant, DPO, None, false, "add a processor or sub-processor to the register";
    ProcessorUpdate = "processor.update", Tenant, DPO, None, false, "change a processor's entry (contract, review, measures)";
    ProcessorList = "processor.list", Tenant, AUDIT, None, false, "the processor register, with the collections each one serves and the register's gaps";
    ProcessorRead = "processor.read", Tenant, AUDIT, None, false, "read a processor's entry";
    RopaRead = "ropa.read", Tenant, AUDIT, None, false, "the records of processing activities (Art. 30), generated from the live definitions, with their gaps";
    RopaProcessorRead = "ropa.processor", System, AUDIT, None, false, "the processor's record of the processing it carries out for each controller tenant (Art. 30(2))";
    StaffRegisterCreate = "staff_register.create", Tenant, DPO, None, false, "add a person to the staff register (confidentiality statement, trainings, start and end of work)";
    StaffRegisterUpdate = "staff_register.update", Tenant, DPO, None, false, "change a person's entry in the staff register (a training, the statement, leaving, the checklist)";
    StaffRegisterList = "staff_register.list", Tenant, AUDIT, None, false, "the staff register, with each person's due and overdue statement, trainings and checklist";
    StaffRegisterRead = "staff_register.read", Tenant, AUDIT, None, false, "one person's view: their entry, account, offboarding checklist and what is due";
    TomsRead = "toms.read", Tenant, AUDIT, None, false, "the statement of technical and organisational measures (Art. 32), generated from the live configuration with its evidence";
    // Backups.
    BackupCreate = "backup.create", System, ADMIN, None, false, "make a backup now, to every configured destination";
    BackupList = "backup.list", System, AUDIT, None, false, "list the backups the destinations hold, and their last verification";
    BackupRestore = "backup.restore", System, ADMIN, None, false, "restore a backup into an empty store (the CLI, as the local operator) and replay the erasures made after it";
    // The audit trail.
    AuditHeadCreate = "audit.head.create", Tenant, ADMIN, None, false, "make a signed tree head now";
    AuditHeadRead = "audit.head.read", Tenant, AUDIT, None, false, "read the latest signed tree head";
    AuditInclusion = "audit.proof.inclusion", Tenant, AUDIT, None, false, "an inclusion proof";
    AuditConsistency = "audit.proof.consistency", Tenant, AUDIT, None, false, "a consistency proof";
    AuditQuery = "audit.query", Tenant, AUDIT, None, false, "query the audit trail (a tenant's own events)";
    AuditExport = "audit.export", System, AUDIT, None, false, "export events with proofs (every tenant's)";
}

impl Action {
    pub fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
    /// The actions a tenant may put under four-eyes approval.
    pub fn four_eyes_eligible() -> impl Iterator<Item = Action> {
        Action::ALL.iter().copied().filter(|a| a.rule().four_eyes)
    }
}

/// An operator's or API key's need-to-know: operations granted per
/// collection (`*` = every collection) and fields shown masked (ACC-2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    #[serde(default)]
    pub grants: BTreeMap<String, BTreeSet<Op>>,
    /// Per collection (or `*`), fields read as `"***"` and not recorded as read.
    #[serde(default)]
    pub masks: BTreeMap<String, BTreeSet<String>>,
}

impl Access {
    /// Whether `op` is granted on `collection` (or on every collection).
    pub fn allows(&self, collection: &str, op: Op) -> bool {
        [collection, "*"].iter().any(|c| self.grants.get(*c).is_some_and(|ops| ops.contains(&op)))
    }
    /// Whether `op` is granted on every collection.
    pub fn allows_all(&self, op: Op) -> bool {
        self.allows("*", op)
    }
    pub fn allows_any(&self, op: Op) -> bool {
        self.grants.values().any(|ops| ops.contains(&op))
    }
    pub fn masked(&self, collection: &str, field: &str) -> bool {
        [collection, "*"].iter().any(|c| self.masks.get(*c).is_some_and(|f| f.contains(field)))
    }
    pub fn has_masks(&self) -> bool {
        self.masks.values().any(|f| !f.is_empty())
    }
}

/// Why a call is refused (the tenant check comes first and is a "not found").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Only system staff may do this.
    SystemOnly,
    /// This role may not do this.
    Role(&'static [Role]),
    /// Not granted for this collection and operation.
    NotGranted(Op),
}

impl Denied {
    pub fn message(&self) -> String {
        match self {
            Denied::SystemOnly => "only system staff may do this".into(),
            Denied::Role([]) => "nobody may do this directly".into(),
            Denied::Role(roles) => {
                format!("only {} may do this", roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))
            }
            Denied::NotGranted(op) => format!("you are not granted {} on this collection", op.as_str()),
        }
    }
}

/// Does the permission table let this caller run `rule`? `system` is true
/// for system staff; `collection` is the collection acted on, if one is;
/// with none, an operation on a whole subject (erase, export) needs a grant
/// on every collection and a read needs a grant somewhere (the use case
/// then shows only granted collections).
pub fn permit(rule: &Rule, role: Role, system: bool, access: &Access, collection: Option<&str>) -> Result<(), Denied> {
    if rule.scope == Scope::System && !system {
        return Err(Denied::SystemOnly);
    }
    if !rule.roles.contains(&role) {
        return Err(Denied::Role(rule.roles));
    }
    if let (Some(op), Role::Operator | Role::Service) = (rule.op, role) {
        let ok = match (collection, op) {
            (Some(c), _) => access.allows(c, op),
            (None, Op::Erase | Op::Export) => access.allows_all(op),
            (None, _) => access.allows_any(op),
        };
        if !ok {
            return Err(Denied::NotGranted(op));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_the_actions_and_names_are_unique() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(RULES[i].action, *a);
            assert_eq!(Action::parse(a.name()), Some(*a));
        }
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }

    #[test]
    fn operators_need_a_grant_and_auditors_see_no_data() {
        let mut a = Access::default();
        let read = Action::RecordRead.rule();
        assert_eq!(permit(read, Role::Operator, false, &a, Some("customers")), Err(Denied::NotGranted(Op::Read)));
        a.grants.insert("customers".into(), [Op::Read].into());
        assert!(permit(read, Role::Operator, false, &a, Some("customers")).is_ok());
        assert!(permit(read, Role::Operator, false, &a, Some("staff")).is_err());
        assert!(permit(Action::RecordUpdate.rule(), Role::Operator, false, &a, Some("customers")).is_err());
        assert!(permit(Action::SubjectErase.rule(), Role::Operator, false, &a, None).is_err());
        assert!(permit(read, Role::Auditor, false, &a, Some("customers")).is_err());
        assert!(permit(Action::AuditQuery.rule(), Role::Auditor, false, &a, None).is_ok());
        assert!(permit(read, Role::Dpo, false, &Access::default(), Some("customers")).is_ok());
        assert_eq!(permit(Action::TenantCreate.rule(), Role::Administrator, false, &a, None), Err(Denied::SystemOnly));
    }

    #[test]
    fn the_policy_offers_four_eyes_for_exactly_the_eligible_actions() {
        let eligible: Vec<&str> = Action::four_eyes_eligible().map(|a| a.name()).collect();
        let mut offered = crate::domain::policy::FOUR_EYES_OPERATIONS.to_vec();
        offered.sort();
        let mut e = eligible.clone();
        e.sort();
        assert_eq!(e, offered);
    }

    #[test]
    fn masks_and_wildcards() {
        let mut a = Access::default();
        a.grants.insert("*".into(), [Op::Read, Op::Erase].into());
        a.masks.insert("customers".into(), ["phone".to_string()].into());
        assert!(a.allows("anything", Op::Read) && a.allows_all(Op::Erase) && !a.allows_any(Op::Write));
        assert!(a.masked("customers", "phone") && !a.masked("customers", "email") && !a.masked("staff", "phone"));
    }
}
