//! The documents of the subject's rights: the access report as a PDF a
//! person can read (English or Slovenian, `documents::pdf`), and the
//! portability archive (Art. 20, Ham 7e: the data the subject provided —
//! collections and fields not marked `derived` — as JSON and one CSV per
//! collection in one zip). Either can be delivered protected
//! (`documents::protect`); the audit event records how it was delivered.

use super::access_report::AccessReport;
use super::records::{masked, read_fields, RecordView};
use super::{Actor, Result, ServiceError, Vault};
use crate::documents::archive;
use crate::documents::pdf::Doc;
use crate::documents::protect::Protect;
use crate::domain::access::Action;
use crate::domain::schema::{LegalBasis, Retention, RetentionFrom};
use crate::store::queries;
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The language of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Sl,
}

pub(super) fn t(lang: Lang, en: &'static str, sl: &'static str) -> &'static str {
    if lang == Lang::Sl {
        sl
    } else {
        en
    }
}

pub(super) fn basis(lang: Lang, b: LegalBasis) -> &'static str {
    match b {
        LegalBasis::Consent => t(lang, "consent (Art. 6(1)(a))", "privolitev (točka (a) člena 6(1))"),
        LegalBasis::Contract => t(lang, "contract (Art. 6(1)(b))", "pogodba (točka (b) člena 6(1))"),
        LegalBasis::LegalObligation => {
            t(lang, "legal obligation (Art. 6(1)(c))", "zakonska obveznost (točka (c) člena 6(1))")
        }
        LegalBasis::VitalInterest => {
            t(lang, "vital interests (Art. 6(1)(d))", "življenjski interesi (točka (d) člena 6(1))")
        }
        LegalBasis::PublicTask => t(lang, "public task (Art. 6(1)(e))", "javna naloga (točka (e) člena 6(1))"),
        LegalBasis::LegitimateInterest => {
            t(lang, "legitimate interests (Art. 6(1)(f))", "zakoniti interesi (točka (f) člena 6(1))")
        }
    }
}

pub(super) fn retention(lang: Lang, r: &Retention) -> String {
    match r {
        Retention::Period { days, from: RetentionFrom::Updated } => match lang {
            Lang::Sl => format!("{days} dni po zadnji spremembi"),
            Lang::En => format!("{days} days after the last change"),
        },
        Retention::Period { days, from: RetentionFrom::Created } => match lang {
            Lang::Sl => format!("{days} dni po nastanku zapisa"),
            Lang::En => format!("{days} days after the record was made"),
        },
        Retention::AfterEvent { event, days } => match lang {
            Lang::Sl => format!("{days} dni po dogodku »{event}«"),
            Lang::En => format!("{days} days after the event \"{event}\""),
        },
        Retention::UntilConsentWithdrawn => t(lang, "until consent is withdrawn", "do preklica privolitve").into(),
        Retention::UntilPurposeEnds => t(lang, "until the purpose ends", "do prenehanja namena").into(),
        Retention::Permanent => t(lang, "permanently (required by law)", "trajno (zahteva zakon)").into(),
    }
}

pub(super) fn list(v: &[String], lang: Lang) -> String {
    if v.is_empty() {
        t(lang, "none", "ni").into()
    } else {
        v.join(", ")
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The access report as a PDF.
pub fn report_pdf(r: &AccessReport, lang: Lang) -> Vec<u8> {
    let mut d =
        Doc::new(t(lang, "Access report (Art. 15 GDPR)", "Poročilo o dostopu do osebnih podatkov (člen 15 GSPD)"));
    d.field(t(lang, "Controller", "Upravljavec"), &r.controller);
    d.field(t(lang, "Data subject", "Posameznik"), &r.subject.id.to_string());
    d.field(t(lang, "Generated", "Pripravljeno"), &crate::clock::rfc3339(r.generated_at));
    for s in &r.sections {
        let c = &s.def;
        d.heading(&if c.description.is_empty() { c.name.clone() } else { format!("{}: {}", c.name, c.description) });
        let mut cats: Vec<String> = c.fields.iter().map(|f| f.category.clone()).collect();
        cats.sort();
        cats.dedup();
        d.field(t(lang, "Purposes", "Nameni"), &list(&c.purposes, lang));
        d.field(t(lang, "Legal basis", "Pravna podlaga"), basis(lang, c.legal_basis));
        d.field(t(lang, "Data categories", "Vrste podatkov"), &list(&cats, lang));
        d.field(t(lang, "Kept", "Hramba"), &retention(lang, &c.retention));
        d.field(t(lang, "Recipients", "Uporabniki"), &list(&c.recipients, lang));
        d.field(t(lang, "Processors", "Obdelovalci"), &list(&c.processors, lang));
        d.field(
            t(lang, "Transfers to third countries", "Prenosi v tretje države"),
            &list(&c.third_country_transfers, lang),
        );
        d.field(t(lang, "Source", "Vir"), &c.source);
        for rec in &s.records {
            d.gap();
            d.field(t(lang, "Record", "Zapis"), &format!("{} ({})", rec.id, crate::clock::rfc3339(rec.updated_at)));
            for f in &c.fields {
                if let Some(v) = rec.data.get(&f.name) {
                    d.field(&format!("  {}", f.name), &value_text(v));
                }
            }
        }
    }
    d.heading(t(lang, "Disclosures to recipients", "Razkritja uporabnikom"));
    if r.disclosures.is_empty() {
        d.para(t(lang, "None.", "Jih ni bilo."));
    }
    for (x, collection) in &r.disclosures {
        let fields: Vec<String> = serde_json::from_str(&x.fields).unwrap_or_default();
        d.para(&format!(
            "{}: {} → {} ({}; {}: {})",
            crate::clock::rfc3339(x.disclosed_at),
            collection,
            x.recipient,
            fields.join(", "),
            t(lang, "purpose", "namen"),
            x.purpose
        ));
    }
    if !r.consents.is_empty() {
        d.heading(t(lang, "Consents", "Privolitve"));
        for c in &r.consents {
            let what = if c.given { t(lang, "given", "dana") } else { t(lang, "withdrawn", "preklicana") };
            d.para(&format!("{}: {} — {what} ({})", crate::clock::rfc3339(c.recorded_at), c.purpose, c.channel));
        }
    }
    if !r.limits.is_empty() {
        d.heading(t(lang, "Restrictions and objections in force", "Veljavne omejitve in ugovori"));
        for l in &r.limits {
            let purposes: Vec<String> = serde_json::from_str(&l.purposes).unwrap_or_default();
            d.para(&format!("{} {}: {}", crate::clock::rfc3339(l.set_at), l.kind, list(&purposes, lang)));
        }
    }
    d.heading(t(lang, "Your rights", "Vaše pravice"));
    for (en, sl) in &r.rights {
        d.para(&format!("• {}", if lang == Lang::Sl { sl } else { en }));
    }
    d.heading(t(lang, "Complaints", "Pritožba"));
    d.para(&r.complaint);
    d.finish()
}

/// A document for delivery: its bytes, media type and file name.
pub struct Delivery {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
    pub file_name: String,
}

fn deliver(bytes: Vec<u8>, media_type: &'static str, name: String, protect: Option<&Protect>) -> Result<Delivery> {
    match protect {
        None => Ok(Delivery { bytes, media_type, file_name: name }),
        Some(p) => Ok(Delivery {
            bytes: p.seal(&bytes).map_err(ServiceError::Internal)?,
            media_type: "application/octet-stream",
            file_name: format!("{name}.age"),
        }),
    }
}

fn delivery_name(kind: &str, protect: Option<&Protect>) -> String {
    match protect {
        Some(p) => format!("{kind}+{}", p.kind()),
        None => kind.into(),
    }
}

impl Vault {
    /// The access report as a PDF, optionally protected.
    pub async fn access_report_pdf(
        &self,
        actor: &Actor,
        tenant: Uuid,
        subject: Uuid,
        request: Option<Uuid>,
        lang: Lang,
        protect: Option<Protect>,
    ) -> Result<Delivery> {
        if let Some(p) = &protect {
            p.check("protect")?;
        }
        let r = self.access_report(actor, tenant, subject, request, &delivery_name("pdf", protect.as_ref())).await?;
        let pdf = tokio::task::spawn_blocking(move || report_pdf(&r, lang))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        deliver(pdf, "application/pdf", format!("access-report-{subject}.pdf"), protect.as_ref())
    }

    /// The portability archive: what the subject provided, as JSON and CSV.
    pub async fn portability(
        &self,
        actor: &Actor,
        tenant: Uuid,
        subject: Uuid,
        request: Option<Uuid>,
        protect: Option<Protect>,
    ) -> Result<Delivery> {
        let delivery = delivery_name("zip", protect.as_ref());
        let delivery = delivery.as_str();
        let mut call = self.call(actor, Action::SubjectPortability, Some(tenant)).subject(subject);
        if let Some(r) = request {
            call = call.detail(format!("request={r}"));
        }
        let note = self
            .run(
                call,
                |cx| async move {
                    let t = cx.tenant()?.clone();
                    if let Some(p) = &protect {
                        p.check("protect")?;
                    }
                    let answering = match request {
                        Some(r) => Some(self.request_to_act_on(tenant, r, subject).await?),
                        None => None,
                    };
                    let (s, rows) = self
                        .store
                        .read(move |db| {
                            Ok((
                                queries::get_subject(db, tenant, subject)?,
                                queries::records_of_subject(db, tenant, subject)?,
                            ))
                        })
                        .await?;
                    let s = s.ok_or(ServiceError::NotFound("subject"))?;
                    let names = self.collection_names(tenant).await?;
                    let mut by: std::collections::BTreeMap<String, Vec<RecordView>> = Default::default();
                    let mut defs = std::collections::BTreeMap::new();
                    for r in &rows {
                        let name = names.get(&r.record.collection_id).cloned().unwrap_or_default();
                        if !defs.contains_key(&name) {
                            defs.insert(name.clone(), self.collection(tenant, &name).await?);
                        }
                        let c = &defs[&name];
                        if c.def.derived {
                            continue;
                        }
                        let mut v = masked(actor, self.open_record(&t, &name, r)?);
                        v.data.retain(|k, _| c.def.field(k).is_some_and(|f| !f.derived));
                        by.entry(name).or_default().push(v);
                    }
                    let mut files = Vec::new();
                    let mut collections = Map::new();
                    for (name, recs) in &by {
                        let fields: Vec<String> =
                            defs[name].def.fields.iter().filter(|f| !f.derived).map(|f| f.name.clone()).collect();
                        let mut header = vec!["record_id".to_string(), "created_at".into(), "updated_at".into()];
                        header.extend(fields.iter().cloned());
                        let table: Vec<Vec<String>> = recs
                            .iter()
                            .map(|r| {
                                let mut row = vec![
                                    r.id.to_string(),
                                    crate::clock::rfc3339(r.created_at),
                                    crate::clock::rfc3339(r.updated_at),
                                ];
                                row.extend(fields.iter().map(|f| archive::cell(r.data.get(f))));
                                row
                            })
                            .collect();
                        files.push((format!("{name}.csv"), archive::csv(&header, &table)));
                        collections.insert(
                            name.clone(),
                            Value::Array(
                                recs.iter()
                                    .map(|r| {
                                        json!({
                                            "record_id": r.id.to_string(),
                                            "created_at": crate::clock::rfc3339(r.created_at),
                                            "updated_at": crate::clock::rfc3339(r.updated_at),
                                            "data": r.data,
                                        })
                                    })
                                    .collect(),
                            ),
                        );
                    }
                    let data = json!({
                        "format": "varuh portability archive v1 (GDPR Art. 20)",
                        "subject_id": s.id.to_string(),
                        "generated_at": crate::clock::rfc3339(self.clock.now_ms()),
                        "collections": collections,
                    });
                    files.insert(0, ("data.json".into(), serde_json::to_vec_pretty(&data).unwrap_or_default()));
                    let views: Vec<&RecordView> = by.values().flatten().collect();
                    let fields = read_fields(actor, &views);
                    let note = format!("records={} collections={}", views.len(), by.len());
                    if let Some(v) = answering {
                        let detail = format!("{note} request={} delivery={delivery}", v.row.id);
                        self.record_on_request(
                            v,
                            "portability",
                            note.clone(),
                            actor.staff_id,
                            (fields.clone(), detail),
                        )
                        .await?;
                    }
                    let zip = archive::zip(&files).map_err(ServiceError::Internal)?;
                    let out = deliver(zip, "application/zip", format!("portability-{subject}.zip"), protect.as_ref())?;
                    Ok((out, fields, note))
                },
                |(_, fields, note), d| {
                    d.fields = fields.clone();
                    d.detail = Some(format!("{note} delivery={delivery}"));
                },
            )
            .await?;
        Ok(note.0)
    }
}

/// Text escaped for HTML.
pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
