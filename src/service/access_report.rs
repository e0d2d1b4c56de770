//! The access report (Art. 15, DSR-2): everything about one subject across
//! all collections in one document — the values, and for each collection
//! its purposes, legal basis, data categories, retention, recipients,
//! transfers and source — with the disclosures actually made, the
//! subject's consents and the restrictions and objections in force, and the
//! rights the subject has.

use super::records::{masked, read_fields, RecordView, SubjectInfo};
use super::{Actor, Result, ServiceError, Vault};
use crate::domain::access::Action;
use crate::domain::schema::{CollectionDef, LegalBasis};
use crate::store::queries;
use std::sync::Arc;
use uuid::Uuid;

/// One collection's part of the report.
pub struct Section {
    pub def: Arc<CollectionDef>,
    pub records: Vec<RecordView>,
}

pub struct AccessReport {
    pub subject: SubjectInfo,
    pub generated_at: i64,
    pub sections: Vec<Section>,
    /// The subject's rights, each with its article (English, Slovenian).
    pub rights: Vec<(&'static str, &'static str)>,
    /// The controller (the tenant's name).
    pub controller: String,
    /// The disclosures actually made (with the collection's name).
    pub disclosures: Vec<(queries::DisclosureRow, String)>,
    /// Consent given and withdrawn, oldest first (evidence left sealed).
    pub consents: Vec<queries::ConsentRow>,
    /// Restrictions and objections in force.
    pub limits: Vec<queries::LimitRow>,
    /// Where the subject may complain (Art. 77): the tenant's authority.
    pub complaint: String,
}

/// The rights that apply, each in English and Slovenian with its article.
fn rights(sections: &[Section]) -> Vec<(&'static str, &'static str)> {
    let mut r = vec![
        (
            "access to your personal data and to this information (Art. 15)",
            "dostop do osebnih podatkov in do teh informacij (člen 15)",
        ),
        (
            "rectification of inaccurate data and completion of incomplete data (Art. 16)",
            "popravek netočnih in dopolnitev nepopolnih podatkov (člen 16)",
        ),
        ("erasure (Art. 17)", "izbris (člen 17)"),
        ("restriction of processing (Art. 18)", "omejitev obdelave (člen 18)"),
    ];
    let bases: Vec<LegalBasis> = sections.iter().map(|s| s.def.legal_basis).collect();
    if bases.iter().any(|b| matches!(b, LegalBasis::Consent | LegalBasis::Contract)) {
        r.push((
            "data portability of the data you provided (Art. 20)",
            "prenosljivost podatkov, ki ste jih posredovali (člen 20)",
        ));
    }
    if bases.iter().any(|b| matches!(b, LegalBasis::LegitimateInterest | LegalBasis::PublicTask)) {
        r.push((
            "objection to processing based on legitimate interests or a public task (Art. 21(1))",
            "ugovor obdelavi na podlagi zakonitih interesov ali javne naloge (člen 21(1))",
        ));
    }
    r.push((
        "objection at any time to processing for direct marketing (Art. 21(2))",
        "kadar koli ugovor obdelavi za namene neposrednega trženja (člen 21(2))",
    ));
    if bases.contains(&LegalBasis::Consent) {
        r.push((
            "withdrawal of consent at any time, without affecting processing before it (Art. 7(3))",
            "kadar koli preklic privolitve, brez vpliva na obdelavo pred preklicem (člen 7(3))",
        ));
    }
    r.push((
        "lodging a complaint with a supervisory authority (Art. 77)",
        "vložitev pritožbe pri nadzornem organu (člen 77)",
    ));
    r
}

impl Vault {
    /// With `request`, the report answers that (verified, open) request of
    /// this subject, and the request's history records it.
    pub async fn access_report(
        &self,
        actor: &Actor,
        tenant: Uuid,
        subject: Uuid,
        request: Option<Uuid>,
        delivery: &str,
    ) -> Result<AccessReport> {
        let mut call = self.call(actor, Action::SubjectAccessReport, Some(tenant)).subject(subject);
        if let Some(r) = request {
            call = call.detail(format!("request={r}"));
        }
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let answering = match request {
                    Some(r) => Some(self.request_to_act_on(tenant, r, subject).await?),
                    None => None,
                };
                let (s, rows, disclosed, consents, limits) = self
                    .store
                    .read(move |db| {
                        Ok((
                            queries::get_subject(db, tenant, subject)?,
                            queries::records_of_subject(db, tenant, subject)?,
                            queries::disclosures_of_subject(db, tenant, subject)?,
                            queries::consents_of_subject(db, tenant, subject)?,
                            queries::limits_of_subject(db, tenant, subject, true)?,
                        ))
                    })
                    .await?;
                let s = s.ok_or(ServiceError::NotFound("subject"))?;
                let names = self.collection_names(tenant).await?;
                let mut sections: Vec<Section> = Vec::new();
                for r in &rows {
                    let name = names.get(&r.record.collection_id).cloned().unwrap_or_default();
                    let view = masked(actor, self.open_record(&t, &name, r)?);
                    match sections.iter_mut().find(|x| x.def.name == name) {
                        Some(sec) => sec.records.push(view),
                        None => {
                            let def = Arc::new(self.collection(tenant, &name).await?.def.clone());
                            sections.push(Section { def, records: vec![view] })
                        }
                    }
                }
                sections.sort_by(|a, b| a.def.name.cmp(&b.def.name));
                let disclosures = disclosed
                    .into_iter()
                    .map(|d| {
                        let n = names.get(&d.collection_id).cloned().unwrap_or_default();
                        (d, n)
                    })
                    .collect();
                let rights = rights(&sections);
                if let Some(v) = answering {
                    let views: Vec<&RecordView> = sections.iter().flat_map(|s| s.records.iter()).collect();
                    let note = format!("records={} collections={}", views.len(), sections.len());
                    let detail = format!("{note} request={} delivery={delivery}", v.row.id);
                    let event = (read_fields(actor, &views), detail);
                    self.record_on_request(v, "access_report", note, actor.staff_id, event).await?;
                }
                Ok(AccessReport {
                    subject: SubjectInfo { id: s.id, created_at: s.created_at, created: false },
                    generated_at: self.clock.now_ms(),
                    sections,
                    rights,
                    disclosures,
                    consents,
                    limits,
                    complaint: self.settings(tenant).await?.authority().complaint(),
                    controller: self
                        .store
                        .read(move |db| queries::get_tenant(db, tenant))
                        .await?
                        .map(|t| t.name)
                        .unwrap_or_default(),
                })
            },
            |r, d| {
                let views: Vec<&RecordView> = r.sections.iter().flat_map(|s| s.records.iter()).collect();
                d.fields = read_fields(actor, &views);
                let of = request.map(|r| format!(" request={r}")).unwrap_or_default();
                d.detail =
                    Some(format!("records={} collections={}{of} delivery={delivery}", views.len(), r.sections.len()));
            },
        )
        .await
    }
}
