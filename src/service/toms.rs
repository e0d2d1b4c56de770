//! The statement of technical and organisational measures (REG-4, Art.
//! 32), generated from the tenant's live configuration: each technical
//! measure states what varuh enforces now and cites its evidence (a
//! policy setting, a schedule, a last run, a verification); a measure the
//! configuration does not enforce is not claimed but listed as not in
//! force, with why. The organisational measures are the tenant's own text
//! (`TenantSettings::organisational_measures`); the last yearly review and
//! when the next is due come from its settings, and `reminders.rs`
//! reminds of it. As JSON, HTML and PDF, in English or Slovenian. The
//! records of processing (`ropa.rs`) take their Art. 30(1)(g) description
//! from here.

use super::documents::{esc, t, Lang};
use super::{Actor, Result, TenantCtx, Vault};
use crate::documents::pdf::Doc;
use crate::domain::access::Action;
use crate::domain::policy::MfaRequired;
use crate::domain::schema::Retention;
use crate::domain::settings::OrganisationalMeasure;
use crate::domain::staff_register::{date_text, DueState};
use crate::store::queries;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A technical measure in force, with its evidence.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Measure {
    /// `password`, `mfa`, `session`, `lockout`, `four_eyes`, `networks`,
    /// `access_control`, `encryption`, `transport`, `audit_trail`,
    /// `backup`, `restore_test`, `retention`, `breach_procedure`,
    /// `monitoring`, `staff`.
    pub area: String,
    pub statement: String,
    /// The settings, runs and results it rests on.
    pub evidence: Vec<String>,
}

/// A measure varuh could enforce but does not for this tenant now.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NotInForce {
    pub area: String,
    pub reason: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Toms {
    pub organisation: String,
    pub generated_at: String,
    /// The last review of this statement (YYYY-MM-DD), if recorded.
    pub reviewed_on: Option<String>,
    /// When the next review is due (YYYY-MM-DD): the last one plus the
    /// tenant's months; today when none is recorded.
    pub review_due: String,
    pub review_overdue: bool,
    pub technical: Vec<Measure>,
    pub not_in_force: Vec<NotInForce>,
    pub organisational: Vec<OrganisationalMeasure>,
}

impl Vault {
    pub async fn toms(&self, actor: &Actor, tenant: Uuid, lang: Lang) -> Result<Toms> {
        let call = self.call(actor, Action::TomsRead, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                self.build_toms(&t, lang).await
            },
            |r: &Toms, d| {
                d.detail = Some(format!("measures={} not_in_force={}", r.technical.len(), r.not_in_force.len()))
            },
        )
        .await
    }

    pub(super) async fn build_toms(&self, tc: &TenantCtx, lang: Lang) -> Result<Toms> {
        let tenant = tc.id;
        let now = self.clock.now_ms();
        let row = self.store.read(move |db| queries::get_tenant(db, tenant)).await?;
        let organisation = row.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        let allow_special = row.as_ref().is_some_and(|r| r.allow_special);
        let st = self.settings(tenant).await?;
        let policy = self.policy(Some(tenant)).await?;
        let mon = self.monitoring().await?;
        let job = |name: &str| mon.jobs.iter().find(|j| j.job == name).cloned();
        let mut on: Vec<Measure> = Vec::new();
        let mut off: Vec<NotInForce> = Vec::new();
        let mut claim = |area: &str, statement: String, evidence: Vec<String>| {
            on.push(Measure { area: area.into(), statement, evidence });
        };
        let mut not = |area: &str, reason: &str| off.push(NotInForce { area: area.into(), reason: reason.into() });

        // Identity and access (AUTH, ACC).
        let pw = &policy.password;
        let mut ev = vec![format!("password.min_length = {}", pw.min_length)];
        for (k, v) in [
            ("require_lower", pw.require_lower),
            ("require_upper", pw.require_upper),
            ("require_digit", pw.require_digit),
            ("require_symbol", pw.require_symbol),
            ("blocklist", pw.blocklist),
            ("refuse_username", pw.refuse_username),
        ] {
            if v {
                ev.push(format!("password.{k} = true"));
            }
        }
        if let Some(d) = pw.max_age_days {
            ev.push(format!("password.max_age_days = {d}"));
        }
        if pw.history > 0 {
            ev.push(format!("password.history = {}", pw.history));
        }
        claim(
            "password",
            format!(
                "{} {} {}{}{}.",
                t(
                    lang,
                    "Every person signs in with their own account; passwords of at least",
                    "Vsaka oseba se prijavi s svojim računom; gesla z vsaj"
                ),
                pw.min_length,
                t(
                    lang,
                    "characters, stored only as Argon2id hashes",
                    "znaki, shranjena le kot zgoščene vrednosti Argon2id"
                ),
                if pw.blocklist {
                    t(lang, ", checked against a list of common passwords", ", preverjena s seznamom pogostih gesel")
                } else {
                    ""
                },
                match pw.max_age_days {
                    Some(d) => format!(
                        "{} {d} {}",
                        t(lang, ", changed at least every", ", zamenjana vsaj vsakih"),
                        t(lang, "days", "dni")
                    ),
                    None => String::new(),
                },
            ),
            ev,
        );
        match policy.mfa.required {
            MfaRequired::Optional => not(
                "mfa",
                t(
                    lang,
                    "the policy leaves the second factor optional (mfa.required = optional)",
                    "politika pušča drugi dejavnik neobvezen (mfa.required = optional)",
                ),
            ),
            r => claim(
                "mfa",
                format!(
                    "{} {}.",
                    t(
                        lang,
                        "A second factor (TOTP, RFC 6238) is required at sign-in",
                        "Ob prijavi je obvezen drugi dejavnik (TOTP, RFC 6238)"
                    ),
                    if r == MfaRequired::All {
                        t(lang, "for every account", "za vse račune")
                    } else {
                        t(lang, "for administrators", "za skrbnike")
                    }
                ),
                vec![format!("mfa.required = {}", if r == MfaRequired::All { "all" } else { "administrators" })],
            ),
        }
        claim(
            "session",
            format!(
                "{} {} {}; {} {} {}.",
                t(lang, "A session ends after", "Seja se konča po"),
                policy.session.idle_minutes,
                t(lang, "minutes without activity", "minutah nedejavnosti"),
                t(lang, "and at the latest after", "in najpozneje po"),
                policy.session.absolute_hours,
                t(lang, "hours", "urah"),
            ),
            vec![
                format!("session.idle_minutes = {}", policy.session.idle_minutes),
                format!("session.absolute_hours = {}", policy.session.absolute_hours),
            ],
        );
        if policy.lockout.max_failures > 0 {
            claim(
                "lockout",
                format!(
                    "{} {} {}.",
                    t(lang, "Sign-in is locked for a growing wait after", "Prijava se za vse daljši čas zaklene po"),
                    policy.lockout.max_failures,
                    t(
                        lang,
                        "failed attempts, and limited per source address",
                        "neuspelih poskusih in je omejena po izvornem naslovu"
                    ),
                ),
                vec![
                    format!("lockout.max_failures = {}", policy.lockout.max_failures),
                    format!("lockout.source_attempts_per_minute = {}", policy.lockout.source_attempts_per_minute),
                ],
            );
        } else {
            not(
                "lockout",
                t(
                    lang,
                    "the policy does not lock accounts (lockout.max_failures = 0)",
                    "politika ne zaklepa računov (lockout.max_failures = 0)",
                ),
            );
        }
        if policy.four_eyes.operations.is_empty() {
            not(
                "four_eyes",
                t(
                    lang,
                    "no operation needs a second person's approval (four_eyes.operations is empty)",
                    "nobena operacija ne potrebuje odobritve druge osebe (four_eyes.operations je prazen)",
                ),
            );
        } else {
            claim(
                "four_eyes",
                format!(
                    "{} {}.",
                    t(lang, "A second person approves before it takes effect:", "Druga oseba odobri, preden učinkuje:"),
                    policy.four_eyes.operations.join(", ")
                ),
                policy.four_eyes.operations.iter().map(|o| format!("four_eyes.operations = {o}")).collect(),
            );
        }
        if !policy.networks.sign_in.is_empty() {
            claim(
                "networks",
                format!(
                    "{} {}.",
                    t(lang, "Staff may sign in only from", "Osebje se lahko prijavi le iz omrežij"),
                    policy.networks.sign_in.join(", ")
                ),
                policy.networks.sign_in.iter().map(|n| format!("networks.sign_in = {n}")).collect(),
            );
        }
        let staff = self.store.read(move |db| queries::list_staff(db, Some(tenant))).await?;
        let mut roles: BTreeMap<String, usize> = BTreeMap::new();
        let mut limited = 0;
        for s in staff.iter().filter(|s| !s.disabled && s.offboarded_at.is_none()) {
            *roles.entry(s.role.clone()).or_default() += 1;
            let a = super::identity::access_of(&s.access)?;
            limited += usize::from(!a.grants.is_empty() && !a.grants.contains_key("*"));
        }
        let in_use = roles.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ");
        claim(
            "access_control",
            t(lang, "Access by role (administrator, DPO, operator, auditor, service); operators and API keys reach only the collections and operations granted to them, with fields masked per grant; every request is authorised against one permission table.", "Dostop po vlogah (skrbnik, pooblaščena oseba, operater, revizor, storitev); operaterji in ključi API dosežejo le dodeljene zbirke in operacije, s polji, skritimi po dovoljenju; vsaka zahteva je preverjena po eni tabeli pravic.").into(),
            vec![
                format!("roles in use: {}", if in_use.is_empty() { "none".into() } else { in_use }),
                format!("accounts limited to granted collections: {limited}"),
            ],
        );

        let active: Vec<_> = staff.iter().filter(|s| !s.disabled && s.offboarded_at.is_none()).collect();
        claim(
            "accounts",
            t(lang, "Every account belongs to one person: each has its own unique username, and every sign-in, session, approval and audit event names the one account that acted; there are no shared accounts.", "Vsak račun pripada eni osebi: vsak ima svoje enolično uporabniško ime, vsaka prijava, seja, odobritev in revizijski dogodek pa navaja račun, ki je deloval; skupnih računov ni.").into(),
            vec![format!("active accounts: {}", active.len()), "usernames: unique, one account each".into()],
        );
        let pending = active.iter().filter(|s| s.must_change_password).count();
        claim(
            "first_login",
            t(lang, "A new or reset account receives a one-time password and must change it at its first sign-in before it can do anything else.", "Nov ali ponastavljen račun prejme enkratno geslo, ki ga mora ob prvi prijavi zamenjati, preden lahko stori karkoli drugega.").into(),
            vec![
                "one-time passwords: changed at first sign-in (must_change_password)".into(),
                format!("accounts yet to change their one-time password: {pending}"),
            ],
        );

        // Data at rest and in transit (CONF).
        claim(
            "encryption",
            t(lang, "Personal data are stored encrypted: every field sealed with XChaCha20-Poly1305 under a key of its data subject, wrapped by the tenant's key under the server's master key; look-ups go through keyed blind indexes, and an erased subject's key is destroyed.", "Osebni podatki so shranjeni šifrirano: vsako polje s XChaCha20-Poly1305 s ključem posameznika, zavitim s ključem najemnika pod glavnim ključem strežnika; iskanje poteka po ključnih slepih indeksih, ključ izbrisanega posameznika se uniči.").into(),
            vec!["XChaCha20-Poly1305".into(), "key hierarchy: subject → tenant → master".into()],
        );
        if self.settings.tls {
            claim(
                "transport",
                t(
                    lang,
                    "The server is reached over HTTPS only (TLS 1.2 or 1.3).",
                    "Strežnik je dosegljiv le prek HTTPS (TLS 1.2 ali 1.3).",
                )
                .into(),
                vec!["tls = on".into()],
            );
        } else {
            not("transport", t(lang, "the server does not serve TLS itself (tls_cert is not set): transport encryption rests on what stands in front of it", "strežnik sam ne streže TLS (tls_cert ni nastavljen): šifriranje prenosa je odvisno od tega, kar je pred njim"));
        }

        let tenants = self.store.read(queries::list_tenants).await?.len();
        claim(
            "tenant_separation",
            t(lang, "Each tenant's data are kept logically apart: sealed under the tenant's own key, and every request and statement is confined to one tenant (another tenant's records answer as not found).", "Podatki vsakega najemnika so logično ločeni: šifrirani z lastnim ključem najemnika, vsaka zahteva in poizvedba pa je omejena na enega najemnika (zapisi drugega najemnika se ne najdejo).").into(),
            vec![format!("tenants on this server: {tenants}, each with its own key")],
        );
        if allow_special {
            not(
                "special_categories",
                t(
                    lang,
                    "this tenant may hold special categories of personal data (allow_special_categories = true)",
                    "ta najemnik sme hraniti posebne vrste osebnih podatkov (allow_special_categories = true)",
                ),
            );
        } else {
            claim(
                "special_categories",
                t(lang, "Special categories of personal data (Art. 9) and data on criminal convictions (Art. 10) are refused: no collection of this tenant may define such a field.", "Posebne vrste osebnih podatkov (9. člen) in podatki o kazenskih obsodbah (10. člen) so zavrnjeni: nobena zbirka tega najemnika ne sme določiti takega polja.").into(),
                vec!["allow_special_categories = false".into()],
            );
        }

        // Accountability (AUD).
        let events = self.store.read(|db| crate::audit::stored_size(db)).await?;
        let verification = job("audit_verify");
        if verification.as_ref().is_some_and(|j| j.ok == Some(false)) {
            not(
                "audit_trail",
                t(
                    lang,
                    "the last verification of the audit trail failed: see the alerts",
                    "zadnje preverjanje revizijske sledi ni uspelo: glej opozorila",
                ),
            );
        } else {
            let mut ev = vec![format!("events: {events}")];
            ev.push(match verification.and_then(|j| j.finished_at_ms) {
                Some(at) => format!("audit trail verified: {}", crate::clock::rfc3339(at)),
                None => "audit trail verification: none on record yet".into(),
            });
            ev.push(format!("audit_verify_seconds = {}", self.settings.schedule.audit_verify_seconds));
            claim(
                "audit_trail",
                t(lang, "Every access and change is written to a tamper-evident audit trail (an RFC 9162 Merkle log with signed tree heads) that no administrator can rewrite unnoticed.", "Vsak dostop in sprememba se zapiše v revizijsko sled, v kateri je vsak poseg viden (Merklov dnevnik po RFC 9162 s podpisanimi glavami), ki je noben skrbnik ne more neopazno spremeniti.").into(),
                ev,
            );
        }

        // Availability (AVL).
        let dests = &self.settings.backup.destinations;
        match job("backup") {
            Some(j) if j.ok == Some(true) && !dests.is_empty() => claim(
                "backup",
                format!(
                    "{} {} {}.",
                    t(
                        lang,
                        "Encrypted backups (age, X25519) are written to",
                        "Šifrirane varnostne kopije (age, X25519) se zapišejo na"
                    ),
                    dests.len(),
                    t(
                        lang,
                        "separate destinations; erasures made after a backup are replayed on restore",
                        "ločenih mest; izbrisi po kopiji se ob obnovi ponovijo"
                    ),
                ),
                vec![
                    format!("backup_seconds = {}", self.settings.schedule.backup_seconds),
                    format!("backup destinations = {}", dests.len()),
                    format!(
                        "last successful backup: {}",
                        j.finished_at_ms.map(crate::clock::rfc3339).unwrap_or_default()
                    ),
                ],
            ),
            _ if dests.is_empty() => not(
                "backup",
                t(lang, "no backup destination is configured", "nobeno mesto za varnostne kopije ni nastavljeno"),
            ),
            _ => not("backup", t(lang, "no backup has succeeded yet", "nobena varnostna kopija še ni uspela")),
        }
        let verified = if dests.is_empty() {
            None
        } else {
            super::backup::list_backups(dests)
                .await
                .ok()
                .into_iter()
                .flatten()
                .flat_map(|l| {
                    l.copies.into_iter().filter_map(|c| c.verified.filter(|v| v.ok).map(|v| (v.at_ms, c.destination)))
                })
                .max()
        };
        match verified {
            Some((at, dest)) => claim(
                "restore_test",
                t(lang, "Backups are tested by restoring them into a scratch store and verifying its audit trail.", "Varnostne kopije se preizkušajo z obnovo v začasno shrambo in preverjanjem njene revizijske sledi.").into(),
                vec![format!("last verified restore: {} at {dest}", crate::clock::rfc3339(at))],
            ),
            None => not("restore_test", t(lang, "no backup has been verified by a test restore (varuh backup verify)", "nobena kopija ni bila preverjena s preizkusno obnovo (varuh backup verify)")),
        }

        // Storage limitation (RET).
        let mut names: Vec<String> = self.collection_names(tenant).await?.into_values().collect();
        names.sort();
        let mut limited_collections = 0;
        for n in &names {
            limited_collections +=
                usize::from(!matches!(self.collection(tenant, n).await?.def.retention, Retention::Permanent));
        }
        let sweep = job("retention").filter(|j| j.ok == Some(true));
        if self.settings.schedule.retention_seconds > 0 || sweep.is_some() {
            let mut ev =
                vec![format!("retention sweep: retention_seconds = {}", self.settings.schedule.retention_seconds)];
            if let Some(j) = &sweep {
                ev.push(format!("last run: {}", j.finished_at_ms.map(crate::clock::rfc3339).unwrap_or_default()));
            }
            ev.push(format!("collections with an erasure time limit: {limited_collections} of {}", names.len()));
            claim(
                "retention",
                t(lang, "Records are deleted or anonymised by the server itself when their collection's retention period ends, except under a legal hold; each deletion is audited and journalled so a restore cannot bring it back.", "Zapisi se samodejno izbrišejo ali anonimizirajo, ko poteče rok hrambe njihove zbirke, razen pri zadržanju; vsak izbris je zabeležen, zato ga obnova ne more vrniti.").into(),
                ev,
            );
        } else {
            not("retention", t(lang, "retention periods are defined, but the sweep is neither scheduled (retention_seconds = 0) nor run", "roki hrambe so določeni, a samodejno brisanje ni niti načrtovano (retention_seconds = 0) niti izvedeno"));
        }

        // Minimisation and the recipients (CONF-5, DSR Art. 19).
        let mut analysed = Vec::new();
        for n in &names {
            if self.collection(tenant, n).await?.def.analysis.is_some() {
                analysed.push(n.clone());
            }
        }
        if analysed.is_empty() {
            not(
                "pseudonymisation",
                t(
                    lang,
                    "no collection defines a pseudonymised export for analysis (analysis)",
                    "nobena zbirka ne določa psevdonimiziranega izvoza za analize (analysis)",
                ),
            );
        } else {
            claim(
                "pseudonymisation",
                t(lang, "Data for analysis leave only pseudonymised (keyed pseudonyms per tenant and purpose, identifying fields dropped or generalised).", "Podatki za analize zapustijo sistem le psevdonimizirani (psevdonimi s ključem najemnika in namena, identifikacijska polja izpuščena ali posplošena).").into(),
                vec![format!("collections with a pseudonymised analysis export: {}", analysed.join(", "))],
            );
        }
        let recipients = self.store.read(move |db| queries::list_recipients(db, tenant)).await?.len();
        claim(
            "disclosures",
            t(lang, "Every disclosure of a subject's data to a recipient is recorded (who, which fields, when, purpose and legal basis), exports to a recipient included, and recipients are told of each rectification, erasure and restriction (Art. 19).", "Vsako razkritje podatkov posameznika uporabniku se zabeleži (komu, katera polja, kdaj, namen in pravna podlaga), tudi izvozi uporabniku, uporabniki pa so obveščeni o vsakem popravku, izbrisu in omejitvi (19. člen).").into(),
            vec!["disclosure log: on".into(), format!("recipients registered: {recipients}")],
        );

        // Breaches (BRE).
        let breaches = self.store.read(move |db| queries::list_breaches(db, tenant, false)).await?.len();
        let mut ev = vec!["authority clock = 72 h".to_string()];
        if let Some(h) = st.breach_notice_hours {
            ev.push(format!("controller clock = {h} h"));
        }
        if st.dpo_email.is_some() && self.mailer.is_some() || st.notify_webhook.is_some() {
            ev.push("clock reminders: on".into());
        }
        ev.push(format!("breaches recorded: {breaches}"));
        claim(
            "breach_procedure",
            t(lang, "Every personal-data breach is documented in the breach register; its clocks (the supervisory authority within 72 hours of awareness, the controller within the contract's hours, the data subjects without undue delay when the risk is high) are tracked and reminded, and the notices are generated from the record.", "Vsaka kršitev varnosti osebnih podatkov se dokumentira v evidenci kršitev; roki (nadzorni organ v 72 urah od seznanitve, upravljavec v roku iz pogodbe, posamezniki brez nepotrebnega odlašanja pri velikem tveganju) se spremljajo in opominjajo, obvestila pa se pripravijo iz zapisa.").into(),
            ev,
        );
        let alerts = &self.settings.alerts;
        if alerts.webhook.is_some() || !alerts.emails.is_empty() && self.mailer.is_some() {
            claim(
                "monitoring",
                t(lang, "Security events (lockouts, bulk reads, failed backups, retention runs and audit verifications) raise alerts to the operator.", "Varnostni dogodki (zaklepi, množična branja, neuspele kopije, brisanja in preverjanja sledi) sprožijo opozorila upravljavcu sistema.").into(),
                vec![
                    "alerts = on".into(),
                    format!("alert webhook: {}", if alerts.webhook.is_some() { "set" } else { "none" }),
                    format!("alert e-mails: {}", alerts.emails.len()),
                ],
            );
        } else {
            not(
                "monitoring",
                t(
                    lang,
                    "no alert webhook or e-mail is configured",
                    "ni nastavljenega spletnega kljuka ali e-naslova za opozorila",
                ),
            );
        }

        // People (REG-3).
        let reg = self.staff_register(tc, 0).await?;
        if reg.people.is_empty() {
            not("staff", t(lang, "the staff register is empty", "evidenca zaposlenih je prazna"));
        } else {
            let today = crate::clock::day(now);
            let working: Vec<_> = reg.people.iter().filter(|p| !p.entry.has_left(today)).collect();
            let signed = working.iter().filter(|p| p.entry.confidentiality_signed.is_some()).count();
            let overdue = reg.due.iter().filter(|d| d.due.state == DueState::Overdue).count();
            claim(
                "staff",
                format!(
                    "{} {} {} {} {}.",
                    t(
                        lang,
                        "Confidentiality statements, trainings (new staff within",
                        "Izjave o varovanju zaupnosti in usposabljanja (novi zaposleni v"
                    ),
                    st.training_within_days(),
                    t(lang, "days, everyone every", "dneh, vsi vsakih"),
                    st.training_every_months(),
                    t(
                        lang,
                        "months) and offboarding are tracked in the staff register",
                        "mesecev) ter izstopi se vodijo v evidenci zaposlenih"
                    ),
                ),
                vec![
                    format!("staff register: {} people, {} working", reg.people.len(), working.len()),
                    format!("confidentiality statements signed: {signed} of {}", working.len()),
                    format!("overdue items: {overdue}"),
                ],
            );
        }

        let today = crate::clock::day(now);
        let (due, review_overdue) = st.toms_review_due(today);
        Ok(Toms {
            organisation,
            generated_at: crate::clock::rfc3339(now),
            reviewed_on: st.toms_reviewed_on.clone(),
            review_due: date_text(due),
            review_overdue,
            technical: on,
            not_in_force: off,
            organisational: st.organisational_measures.clone(),
        })
    }
}

impl Toms {
    fn title(lang: Lang) -> &'static str {
        t(
            lang,
            "Technical and organisational measures (Art. 32 GDPR)",
            "Tehnični in organizacijski ukrepi (člen 32 GDPR)",
        )
    }

    fn head(&self, lang: Lang) -> Vec<(&'static str, String)> {
        vec![
            (t(lang, "Organisation", "Organizacija"), self.organisation.clone()),
            (t(lang, "Generated", "Pripravljeno"), self.generated_at.clone()),
            (
                t(lang, "Last review", "Zadnji pregled"),
                self.reviewed_on.clone().unwrap_or_else(|| t(lang, "none recorded", "ni zabeležen").into()),
            ),
            (
                t(lang, "Next review due", "Naslednji pregled"),
                format!(
                    "{}{}",
                    self.review_due,
                    if self.review_overdue { t(lang, " (OVERDUE)", " (ZAMUJENO)") } else { "" }
                ),
            ),
        ]
    }

    pub fn pdf(&self, lang: Lang) -> Vec<u8> {
        let mut d = Doc::new(Self::title(lang));
        for (k, v) in self.head(lang) {
            d.field(k, &v);
        }
        d.heading(t(lang, "Technical measures in force", "Tehnični ukrepi v veljavi"));
        for m in &self.technical {
            d.para(&m.statement);
            d.field(t(lang, "Evidence", "Dokaz"), &m.evidence.join("; "));
        }
        d.heading(t(lang, "Not in force", "Ni v veljavi"));
        if self.not_in_force.is_empty() {
            d.para(t(lang, "none", "ni"));
        }
        for n in &self.not_in_force {
            d.para(&format!("{}: {}", n.area, n.reason));
        }
        d.heading(t(lang, "Organisational measures", "Organizacijski ukrepi"));
        if self.organisational.is_empty() {
            d.para(t(lang, "none recorded", "niso zabeleženi"));
        }
        for m in &self.organisational {
            d.field(&m.area, &m.text);
        }
        d.finish()
    }

    pub fn html(&self, lang: Lang) -> String {
        let mut h = format!(
            "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n<h1>{}</h1>\n<dl>\n",
            if lang == Lang::Sl { "sl" } else { "en" },
            esc(Self::title(lang)),
            esc(Self::title(lang))
        );
        for (k, v) in self.head(lang) {
            h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", esc(k), esc(&v)));
        }
        h.push_str(&format!(
            "</dl>\n<h2>{}</h2>\n<table>\n",
            esc(t(lang, "Technical measures in force", "Tehnični ukrepi v veljavi"))
        ));
        for m in &self.technical {
            h.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>\n",
                esc(&m.area),
                esc(&m.statement),
                esc(&m.evidence.join("; "))
            ));
        }
        h.push_str(&format!("</table>\n<h2>{}</h2>\n<ul>\n", esc(t(lang, "Not in force", "Ni v veljavi"))));
        for n in &self.not_in_force {
            h.push_str(&format!("<li>{}: {}</li>\n", esc(&n.area), esc(&n.reason)));
        }
        h.push_str(&format!(
            "</ul>\n<h2>{}</h2>\n<dl>\n",
            esc(t(lang, "Organisational measures", "Organizacijski ukrepi"))
        ));
        for m in &self.organisational {
            h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", esc(&m.area), esc(&m.text)));
        }
        h.push_str("</dl>\n</body></html>\n");
        h
    }
}
