//! The records of processing activities (REG-1, Art. 30(1)), generated
//! from the tenant's live definitions: the controller and its DPO from the
//! settings; one activity per collection (purposes, legal basis,
//! categories of subjects and of data — special categories marked —,
//! recipients, processors from the register with their locations,
//! third-country transfers with their safeguards, the erasure time limit,
//! the source); and a general description of the security measures that
//! states only what varuh itself enforces, with its evidence. Missing
//! mandatory information is listed as a gap, never left out silently.
//! As JSON (the API), HTML, CSV and PDF, in English or Slovenian.

use super::documents::{basis, esc, list, retention, t, Lang};
use super::{Actor, Result, Vault};
use crate::documents::pdf::Doc;
use crate::domain::access::Action;
use crate::domain::processor::is_eea;
use crate::domain::schema::is_special_category;
use crate::store::queries;
use std::collections::BTreeSet;
use uuid::Uuid;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub name: String,
    pub description: String,
    pub purposes: Vec<String>,
    pub legal_basis: String,
    pub subject_categories: Vec<String>,
    pub data_categories: Vec<String>,
    /// Of `data_categories`, those of Art. 9.
    pub special_categories: Vec<String>,
    pub recipients: Vec<String>,
    /// Each as "name (service; locations)".
    pub processors: Vec<String>,
    /// Third-country transfers with their safeguards.
    pub transfers: Vec<String>,
    pub erasure_time_limit: String,
    pub source: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Gap {
    /// `controller` or the activity's name.
    pub r#where: String,
    pub missing: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Ropa {
    pub controller: String,
    pub controller_address: Option<String>,
    pub controller_email: Option<String>,
    pub dpo: Option<String>,
    pub generated_at: String,
    pub activities: Vec<Activity>,
    /// Art. 30(1)(g): what the system enforces, each with its evidence.
    pub security_measures: Vec<String>,
    pub gaps: Vec<Gap>,
}

impl Vault {
    /// The tenant's records of processing, generated now.
    pub async fn records_of_processing(&self, actor: &Actor, tenant: Uuid, lang: Lang) -> Result<Ropa> {
        let call = self.call(actor, Action::RopaRead, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                self.build_ropa(&t, lang).await
            },
            |r: &Ropa, d| d.detail = Some(format!("activities={} gaps={}", r.activities.len(), r.gaps.len())),
        )
        .await
    }

    async fn build_ropa(&self, tc: &super::TenantCtx, lang: Lang) -> Result<Ropa> {
        let tenant = tc.id;
        let name =
            self.store.read(move |db| queries::get_tenant(db, tenant)).await?.map(|r| r.name).unwrap_or_default();
        let st = self.settings(tenant).await?;
        let register = self.processor_register(tc).await?;
        let mut gaps = Vec::new();
        let gap = |w: &str, m: &str| Gap { r#where: w.to_string(), missing: m.to_string() };
        if st.controller_address.is_none() {
            gaps.push(gap(
                "controller",
                t(lang, "the controller's address (Art. 30(1)(a))", "naslov upravljavca (točka (a) člena 30(1))"),
            ));
        }
        if st.controller_email.is_none() {
            gaps.push(gap(
                "controller",
                t(
                    lang,
                    "the controller's contact e-mail (Art. 30(1)(a))",
                    "kontaktni e-naslov upravljavca (točka (a) člena 30(1))",
                ),
            ));
        }
        if st.dpo_email.is_none() {
            gaps.push(gap(
                "controller",
                t(
                    lang,
                    "the DPO's or contact point's e-mail (Art. 30(1)(a))",
                    "e-naslov pooblaščene osebe ali kontaktne točke (točka (a) člena 30(1))",
                ),
            ));
        }
        let dpo = match (&st.dpo_name, &st.dpo_email) {
            (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
            (None, Some(e)) => Some(e.clone()),
            (Some(n), None) => Some(n.clone()),
            (None, None) => None,
        };
        let mut names: Vec<String> = self.collection_names(tenant).await?.into_values().collect();
        names.sort();
        let mut activities = Vec::with_capacity(names.len());
        for n in names {
            let c = self.collection(tenant, &n).await?;
            let d = &c.def;
            let cats: BTreeSet<String> = d.fields.iter().map(|f| f.category.clone()).collect();
            let special: Vec<String> = cats.iter().filter(|c| is_special_category(c)).cloned().collect();
            let mut processors = Vec::new();
            let mut transfers: Vec<String> = d.third_country_transfers.clone();
            for p in &d.processors {
                match register.processors.iter().find(|r| &r.entry.name == p) {
                    Some(r) => {
                        let e = &r.entry;
                        let at = if e.locations.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", e.locations.join(", "))
                        };
                        processors.push(format!("{} ({}{at})", e.name, e.service));
                        for loc in e.locations.iter().filter(|l| !is_eea(l)) {
                            transfers.push(format!(
                                "{loc} ({}: {})",
                                e.name,
                                e.transfer_safeguard.clone().unwrap_or_default()
                            ));
                        }
                    }
                    None => {
                        processors.push(p.clone());
                        gaps.push(gap(
                            &d.name,
                            &format!(
                                "{} {p}",
                                t(
                                    lang,
                                    "the processor register has no entry for",
                                    "evidenca obdelovalcev nima vnosa za"
                                )
                            ),
                        ));
                    }
                }
            }
            if d.purposes.is_empty() {
                gaps.push(gap(&d.name, t(lang, "the purposes (Art. 30(1)(b))", "nameni (točka (b) člena 30(1))")));
            }
            if d.subject_categories.is_empty() {
                gaps.push(gap(
                    &d.name,
                    t(
                        lang,
                        "the categories of data subjects (Art. 30(1)(c))",
                        "kategorije posameznikov (točka (c) člena 30(1))",
                    ),
                ));
            }
            activities.push(Activity {
                name: d.name.clone(),
                description: d.description.clone(),
                purposes: d.purposes.clone(),
                legal_basis: basis(lang, d.legal_basis).to_string(),
                subject_categories: d.subject_categories.clone(),
                data_categories: cats.into_iter().collect(),
                special_categories: special,
                recipients: d.recipients.clone(),
                processors,
                transfers,
                erasure_time_limit: retention(lang, &d.retention),
                source: d.source.clone(),
            });
        }
        let security_measures = self.security_summary(tc, lang).await?;
        Ok(Ropa {
            controller: name,
            controller_address: st.controller_address.clone(),
            controller_email: st.controller_email.clone(),
            dpo,
            generated_at: crate::clock::rfc3339(self.clock.now_ms()),
            activities,
            security_measures,
            gaps,
        })
    }

    /// Art. 30(1)(g)'s general description: the technical measures of the
    /// TOMs statement (`toms.rs`), each with its evidence; what is not in
    /// force is not claimed.
    async fn security_summary(&self, tc: &super::TenantCtx, lang: Lang) -> Result<Vec<String>> {
        let toms = self.build_toms(tc, lang).await?;
        Ok(toms
            .technical
            .iter()
            .map(|m| format!("{} ({}: {})", m.statement, t(lang, "evidence", "dokaz"), m.evidence.join("; ")))
            .collect())
    }
}

/// A record's closing sections: the security measures and the gaps.
fn measures_and_gaps(d: &mut Doc, measures: &[String], gaps: &[Gap], lang: Lang) {
    d.heading(t(
        lang,
        "General description of the security measures (Art. 32(1))",
        "Splošen opis varnostnih ukrepov (člen 32(1))",
    ));
    for m in measures {
        d.para(m);
    }
    d.heading(t(lang, "Gaps: mandatory information missing", "Vrzeli: manjkajoči obvezni podatki"));
    if gaps.is_empty() {
        d.para(t(lang, "none", "ni"));
    }
    for g in gaps {
        d.para(&format!("{}: {}", g.r#where, g.missing));
    }
}

impl Ropa {
    fn title(lang: Lang) -> &'static str {
        t(lang, "Records of processing activities (Art. 30(1) GDPR)", "Evidenca dejavnosti obdelave (člen 30(1) GDPR)")
    }

    fn rows(a: &Activity, lang: Lang) -> Vec<(&'static str, String)> {
        let none = |v: &[String]| list(v, lang);
        vec![
            (t(lang, "Description", "Opis"), a.description.clone()),
            (t(lang, "Purposes", "Nameni"), none(&a.purposes)),
            (t(lang, "Legal basis", "Pravna podlaga"), a.legal_basis.clone()),
            (t(lang, "Categories of data subjects", "Kategorije posameznikov"), none(&a.subject_categories)),
            (t(lang, "Categories of personal data", "Vrste osebnih podatkov"), none(&a.data_categories)),
            (t(lang, "Special categories (Art. 9)", "Posebne vrste (člen 9)"), none(&a.special_categories)),
            (t(lang, "Recipients", "Uporabniki"), none(&a.recipients)),
            (t(lang, "Processors", "Obdelovalci"), none(&a.processors)),
            (
                t(lang, "Transfers to third countries and safeguards", "Prenosi v tretje države in zaščitni ukrepi"),
                none(&a.transfers),
            ),
            (t(lang, "Time limit for erasure", "Rok za izbris"), a.erasure_time_limit.clone()),
            (t(lang, "Source", "Vir"), a.source.clone()),
        ]
    }

    fn head(&self, lang: Lang) -> Vec<(&'static str, String)> {
        let or = |v: &Option<String>| v.clone().unwrap_or_else(|| t(lang, "MISSING", "MANJKA").to_string());
        vec![
            (t(lang, "Controller", "Upravljavec"), self.controller.clone()),
            (t(lang, "Address", "Naslov"), or(&self.controller_address)),
            (t(lang, "Contact", "Kontakt"), or(&self.controller_email)),
            (
                t(lang, "Data protection officer or contact point", "Pooblaščena oseba ali kontaktna točka"),
                or(&self.dpo),
            ),
            (t(lang, "Generated", "Pripravljeno"), self.generated_at.clone()),
        ]
    }

    pub fn pdf(&self, lang: Lang) -> Vec<u8> {
        let mut d = Doc::new(Self::title(lang));
        for (k, v) in self.head(lang) {
            d.field(k, &v);
        }
        for a in &self.activities {
            d.heading(&a.name);
            for (k, v) in Self::rows(a, lang) {
                d.field(k, &v);
            }
        }
        measures_and_gaps(&mut d, &self.security_measures, &self.gaps, lang);
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
        h.push_str("</dl>\n");
        for a in &self.activities {
            h.push_str(&format!("<h2>{}</h2>\n<table>\n", esc(&a.name)));
            for (k, v) in Self::rows(a, lang) {
                h.push_str(&format!("<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n", esc(k), esc(&v)));
            }
            h.push_str("</table>\n");
        }
        h.push_str(&format!(
            "<h2>{}</h2>\n<ul>\n",
            esc(t(
                lang,
                "General description of the security measures (Art. 32(1))",
                "Splošen opis varnostnih ukrepov (člen 32(1))"
            ))
        ));
        for m in &self.security_measures {
            h.push_str(&format!("<li>{}</li>\n", esc(m)));
        }
        h.push_str(&format!(
            "</ul>\n<h2>{}</h2>\n<ul>\n",
            esc(t(lang, "Gaps: mandatory information missing", "Vrzeli: manjkajoči obvezni podatki"))
        ));
        for g in &self.gaps {
            h.push_str(&format!("<li>{}: {}</li>\n", esc(&g.r#where), esc(&g.missing)));
        }
        h.push_str("</ul>\n</body></html>\n");
        h
    }

    /// One row per activity, with the controller's columns repeated.
    pub fn csv(&self, lang: Lang) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let head = self.head(lang);
        let mut header: Vec<&str> = head.iter().map(|(k, _)| *k).collect();
        header.push(t(lang, "Activity", "Dejavnost"));
        if let Some(a) = self.activities.first() {
            header.extend(Self::rows(a, lang).iter().map(|(k, _)| *k));
        }
        let _ = w.write_record(&header);
        for a in &self.activities {
            let mut row: Vec<String> = head.iter().map(|(_, v)| v.clone()).collect();
            row.push(a.name.clone());
            row.extend(Self::rows(a, lang).into_iter().map(|(_, v)| v));
            let _ = w.write_record(&row);
        }
        w.into_inner().unwrap_or_default()
    }
}

/// One controller in the processor's record: what is processed on its behalf.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ControllerProcessing {
    pub tenant_id: String,
    pub controller: String,
    pub controller_email: Option<String>,
    pub dpo: Option<String>,
    /// Each as "activity: purposes".
    pub categories_of_processing: Vec<String>,
    /// The sub-processors the tenant's register holds, with their locations.
    pub sub_processors: Vec<String>,
    pub transfers: Vec<String>,
}

/// The processor's record of processing activities (Art. 30(2)): one
/// entry per controller tenant, and the measures the server enforces for
/// all of them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProcessorRecord {
    pub processor: Option<String>,
    pub processor_contact: Option<String>,
    pub generated_at: String,
    pub controllers: Vec<ControllerProcessing>,
    /// Art. 30(2)(d): the server's own measures (encryption, transport,
    /// audit trail, backups, restore tests, alerts), each with its evidence.
    pub security_measures: Vec<String>,
    pub gaps: Vec<Gap>,
}

/// The TOMs areas that are the server's, the same for every tenant.
const SERVER_AREAS: [&str; 6] = ["encryption", "transport", "audit_trail", "backup", "restore_test", "monitoring"];

impl Vault {
    /// The processor's record across every tenant (a system view).
    pub async fn processor_record(&self, actor: &Actor, lang: Lang) -> Result<ProcessorRecord> {
        let call = self.call(actor, Action::RopaProcessorRead, None);
        self.run(
            call,
            |_| async move {
                let mut gaps = Vec::new();
                let gap = |w: &str, m: &str| Gap { r#where: w.to_string(), missing: m.to_string() };
                if self.settings.operator_name.is_none() {
                    gaps.push(gap(
                        "processor",
                        t(
                            lang,
                            "the processor's name (operator_name; Art. 30(2)(a))",
                            "ime obdelovalca (operator_name; točka (a) člena 30(2))",
                        ),
                    ));
                }
                if self.settings.operator_contact.is_none() {
                    gaps.push(gap(
                        "processor",
                        t(
                            lang,
                            "the processor's contact details (operator_contact; Art. 30(2)(a))",
                            "kontaktni podatki obdelovalca (operator_contact; točka (a) člena 30(2))",
                        ),
                    ));
                }
                let tenants = self.store.read(queries::list_tenants).await?;
                let mut controllers = Vec::with_capacity(tenants.len());
                let mut security_measures = Vec::new();
                for row in tenants {
                    let tc = self.tenant(row.id).await?;
                    let ropa = self.build_ropa(&tc, lang).await?;
                    if security_measures.is_empty() {
                        let toms = self.build_toms(&tc, lang).await?;
                        security_measures = toms
                            .technical
                            .iter()
                            .filter(|m| SERVER_AREAS.contains(&m.area.as_str()))
                            .map(|m| {
                                format!("{} ({}: {})", m.statement, t(lang, "evidence", "dokaz"), m.evidence.join("; "))
                            })
                            .collect();
                    }
                    if ropa.dpo.is_none() && ropa.controller_email.is_none() {
                        gaps.push(gap(
                            &ropa.controller,
                            t(
                                lang,
                                "the controller's contact (Art. 30(2)(a))",
                                "kontakt upravljavca (točka (a) člena 30(2))",
                            ),
                        ));
                    }
                    let register = self.processor_register(&tc).await?;
                    let sub_processors = register
                        .processors
                        .iter()
                        .map(|p| {
                            let at = if p.entry.locations.is_empty() {
                                String::new()
                            } else {
                                format!("; {}", p.entry.locations.join(", "))
                            };
                            format!("{} ({}{at})", p.entry.name, p.entry.service)
                        })
                        .collect();
                    let mut transfers: Vec<String> = ropa.activities.iter().flat_map(|a| a.transfers.clone()).collect();
                    transfers.sort();
                    transfers.dedup();
                    controllers.push(ControllerProcessing {
                        tenant_id: row.id.to_string(),
                        controller: ropa.controller,
                        controller_email: ropa.controller_email,
                        dpo: ropa.dpo,
                        categories_of_processing: ropa
                            .activities
                            .iter()
                            .map(|a| format!("{}: {}", a.name, a.purposes.join(", ")))
                            .collect(),
                        sub_processors,
                        transfers,
                    });
                }
                Ok(ProcessorRecord {
                    processor: self.settings.operator_name.clone(),
                    processor_contact: self.settings.operator_contact.clone(),
                    generated_at: crate::clock::rfc3339(self.clock.now_ms()),
                    controllers,
                    security_measures,
                    gaps,
                })
            },
            |r: &ProcessorRecord, d| {
                d.detail = Some(format!("controllers={} gaps={}", r.controllers.len(), r.gaps.len()))
            },
        )
        .await
    }
}

impl ProcessorRecord {
    fn title(lang: Lang) -> &'static str {
        t(
            lang,
            "Records of processing activities of a processor (Art. 30(2) GDPR)",
            "Evidenca dejavnosti obdelave obdelovalca (člen 30(2) GDPR)",
        )
    }

    pub fn pdf(&self, lang: Lang) -> Vec<u8> {
        let missing = t(lang, "MISSING", "MANJKA");
        let mut d = Doc::new(Self::title(lang));
        d.field(t(lang, "Processor", "Obdelovalec"), self.processor.as_deref().unwrap_or(missing));
        d.field(t(lang, "Contact", "Kontakt"), self.processor_contact.as_deref().unwrap_or(missing));
        d.field(t(lang, "Generated", "Pripravljeno"), &self.generated_at);
        for c in &self.controllers {
            d.heading(&c.controller);
            d.field(t(lang, "Contact", "Kontakt"), c.controller_email.as_deref().unwrap_or(missing));
            d.field(
                t(lang, "Data protection officer or contact point", "Pooblaščena oseba ali kontaktna točka"),
                c.dpo.as_deref().unwrap_or(missing),
            );
            d.field(t(lang, "Categories of processing", "Vrste obdelave"), &list(&c.categories_of_processing, lang));
            d.field(t(lang, "Sub-processors", "Podobdelovalci"), &list(&c.sub_processors, lang));
            d.field(
                t(lang, "Transfers to third countries and safeguards", "Prenosi v tretje države in zaščitni ukrepi"),
                &list(&c.transfers, lang),
            );
        }
        measures_and_gaps(&mut d, &self.security_measures, &self.gaps, lang);
        d.finish()
    }

    /// One row per controller.
    pub fn csv(&self, lang: Lang) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            t(lang, "Processor", "Obdelovalec"),
            t(lang, "Controller", "Upravljavec"),
            t(lang, "Contact", "Kontakt"),
            t(lang, "Data protection officer or contact point", "Pooblaščena oseba ali kontaktna točka"),
            t(lang, "Categories of processing", "Vrste obdelave"),
            t(lang, "Sub-processors", "Podobdelovalci"),
            t(lang, "Transfers to third countries and safeguards", "Prenosi v tretje države in zaščitni ukrepi"),
        ]);
        for c in &self.controllers {
            let _ = w.write_record([
                self.processor.clone().unwrap_or_default(),
                c.controller.clone(),
                c.controller_email.clone().unwrap_or_default(),
                c.dpo.clone().unwrap_or_default(),
                list(&c.categories_of_processing, lang),
                list(&c.sub_processors, lang),
                list(&c.transfers, lang),
            ]);
        }
        w.into_inner().unwrap_or_default()
    }
}
