//! The documents of a breach (BRE-2), in English and Slovenian, as PDF
//! (`documents::pdf`) and as plain text (an e-mail's body): the
//! notification to the supervisory authority with the contents of Art.
//! 33(3), the processor's notice to its controller (the contents 2Mobile's
//! 4.3 promises, for the controller's DPO), and the notice to the data
//! subjects — clear, plain and separate from any other message (Art.
//! 34(2), EximiTech). Each says what the register knows now; a later phase
//! is a new document.

use super::breaches::BreachView;
use super::documents::Lang;
use super::{Actor, Result, Vault};
use crate::clock::rfc3339;
use crate::documents::pdf::Doc;
use crate::domain::access::Action;
use crate::domain::breach::{Audience, BreachKind, Risk};
use crate::store::queries;
use uuid::Uuid;

enum Line {
    Heading(String),
    Para(String),
    Field(String, String),
}

/// A breach document: a title and its lines.
pub struct Notice {
    pub title: String,
    lines: Vec<Line>,
}

impl Notice {
    pub fn pdf(&self) -> Vec<u8> {
        let mut d = Doc::new(&self.title);
        for l in &self.lines {
            match l {
                Line::Heading(h) => d.heading(h),
                Line::Para(p) => d.para(p),
                Line::Field(k, v) => d.field(k, v),
            }
        }
        d.finish()
    }

    pub fn text(&self) -> String {
        let mut out = format!("{}\n{}\n", self.title, "=".repeat(self.title.chars().count().min(78)));
        for l in &self.lines {
            match l {
                Line::Heading(h) => out.push_str(&format!("\n{h}\n{}\n", "-".repeat(h.chars().count().min(78)))),
                Line::Para(p) => out.push_str(&format!("{p}\n")),
                Line::Field(k, v) => out.push_str(&format!("{k}: {v}\n")),
            }
        }
        out
    }
}

fn t(lang: Lang, en: &str, sl: &str) -> String {
    if lang == Lang::Sl { sl } else { en }.to_string()
}

fn kind(lang: Lang, k: BreachKind) -> String {
    match k {
        BreachKind::Confidentiality => t(
            lang,
            "confidentiality breach (unauthorised or accidental disclosure of, or access to, personal data)",
            "kršitev zaupnosti (nepooblaščeno ali naključno razkritje ali dostop do osebnih podatkov)",
        ),
        BreachKind::Integrity => t(
            lang,
            "integrity breach (unauthorised or accidental alteration of personal data)",
            "kršitev celovitosti (nepooblaščeno ali naključno spreminjanje osebnih podatkov)",
        ),
        BreachKind::Availability => t(
            lang,
            "availability breach (accidental or unauthorised loss of access to, or destruction of, personal data)",
            "kršitev razpoložljivosti (naključna ali nepooblaščena izguba, nedostopnost ali uničenje osebnih podatkov)",
        ),
    }
}

fn risk(lang: Lang, r: Risk) -> String {
    match r {
        Risk::Unlikely => t(lang, "unlikely to result in a risk", "verjetno ne bo povzročila tveganja"),
        Risk::Risk => t(
            lang,
            "a risk to the rights and freedoms of natural persons",
            "tveganje za pravice in svoboščine posameznikov",
        ),
        Risk::High => t(
            lang,
            "a high risk to the rights and freedoms of natural persons",
            "veliko tveganje za pravice in svoboščine posameznikov",
        ),
    }
}

fn or_unknown(lang: Lang, v: &str) -> String {
    if v.trim().is_empty() {
        t(lang, "not known yet", "še ni znano")
    } else {
        v.to_string()
    }
}

fn when(lang: Lang, v: Option<i64>) -> String {
    v.map(rfc3339).unwrap_or_else(|| t(lang, "not known yet", "še ni znano"))
}

fn approx(lang: Lang, cats: &[String], n: Option<u64>) -> String {
    let cats = if cats.is_empty() {
        t(lang, "categories not known yet", "kategorije še niso znane")
    } else {
        cats.join(", ")
    };
    match n {
        Some(n) => format!("{cats}; {} {n}", t(lang, "approximately", "približno")),
        None => format!("{cats}; {}", t(lang, "number not known yet", "število še ni znano")),
    }
}

/// Builds the document of `audience` for a breach.
pub fn notice(b: &BreachView, audience: Audience, lang: Lang, organisation: &str, authority: &str, now: i64) -> Notice {
    let d = &b.details;
    let mut lines = Vec::new();
    let title = match audience {
        Audience::Authority => t(
            lang,
            "Notification of a personal data breach to the supervisory authority (Art. 33 GDPR)",
            "Uradno obvestilo nadzornemu organu o kršitvi varstva osebnih podatkov (člen 33 GDPR)",
        ),
        Audience::Controller => t(
            lang,
            "Notice of a personal data breach to the controller (Art. 33(2) GDPR)",
            "Obvestilo upravljavcu o kršitvi varstva osebnih podatkov (člen 33(2) GDPR)",
        ),
        Audience::Subjects => t(
            lang,
            "Important: a breach of the security of your personal data",
            "Pomembno: kršitev varnosti vaših osebnih podatkov",
        ),
    };
    let kinds: Vec<String> = d.kinds.iter().map(|k| kind(lang, *k)).collect();
    let phase = b.notifications.iter().filter(|n| n.audience == audience).count();
    match audience {
        Audience::Authority | Audience::Controller => {
            if audience == Audience::Authority {
                lines.push(Line::Field(t(lang, "To", "Naslovnik"), authority.to_string()));
                lines.push(Line::Field(t(lang, "Controller", "Upravljavec"), organisation.to_string()));
            } else {
                lines.push(Line::Field(t(lang, "To the controller", "Upravljavcu"), organisation.to_string()));
                lines.push(Line::Field(t(lang, "Sent to", "Poslano na"), or_unknown(lang, &b.contact)));
            }
            lines.push(Line::Field(t(lang, "Breach reference", "Oznaka kršitve"), b.row.id.to_string()));
            lines.push(Line::Field(
                t(lang, "This notification", "To obvestilo"),
                if phase == 0 {
                    t(
                        lang,
                        "initial (further information may follow in phases, Art. 33(4))",
                        "prvo (dodatne informacije lahko sledijo postopoma, člen 33(4))",
                    )
                } else {
                    format!("{} {}", t(lang, "follow-up, after notifications:", "dopolnitev, po obvestilih:"), phase)
                },
            ));
            lines.push(Line::Heading(t(lang, "Nature of the breach", "Narava kršitve")));
            lines.push(Line::Field(t(lang, "Kind", "Vrsta"), kinds.join("; ")));
            lines.push(Line::Field(t(lang, "When it happened", "Kdaj se je zgodila"), when(lang, d.occurred_at)));
            lines.push(Line::Field(
                t(lang, "When we became aware of it", "Kdaj smo se z njo seznanili"),
                rfc3339(d.aware_at),
            ));
            lines.push(Line::Field(t(lang, "Contained", "Zajezena"), when(lang, d.contained_at)));
            lines.push(Line::Field(t(lang, "What happened", "Kaj se je zgodilo"), d.description.clone()));
            lines.push(Line::Field(
                t(
                    lang,
                    "Data subjects concerned (categories, approximate number)",
                    "Prizadeti posamezniki (kategorije, približno število)",
                ),
                approx(lang, &d.subject_categories, d.subjects_approx),
            ));
            lines.push(Line::Field(
                t(
                    lang,
                    "Personal data records concerned (categories, approximate number)",
                    "Prizadete evidence osebnih podatkov (vrste, približno število)",
                ),
                approx(lang, &d.data_categories, d.records_approx),
            ));
            lines.push(Line::Heading(t(lang, "Contact point", "Kontaktna točka")));
            lines.push(Line::Field(
                t(
                    lang,
                    "Data protection officer or other contact point",
                    "Pooblaščena oseba za varstvo podatkov ali druga kontaktna točka",
                ),
                or_unknown(lang, &b.contact),
            ));
            lines.push(Line::Heading(t(lang, "Likely consequences", "Verjetne posledice")));
            lines.push(Line::Para(or_unknown(lang, &d.consequences)));
            lines.push(Line::Heading(t(lang, "Measures", "Ukrepi")));
            lines.push(Line::Field(t(lang, "Measures taken", "Sprejeti ukrepi"), or_unknown(lang, &d.measures_taken)));
            lines.push(Line::Field(
                if audience == Audience::Controller {
                    t(lang, "Measures we propose the controller takes", "Ukrepi, ki jih predlagamo upravljavcu")
                } else {
                    t(lang, "Measures proposed", "Predlagani ukrepi")
                },
                or_unknown(lang, &d.measures_proposed),
            ));
            lines.push(Line::Heading(t(lang, "Risk", "Tveganje")));
            lines.push(Line::Field(t(lang, "Assessed risk", "Ocenjeno tveganje"), risk(lang, d.risk)));
            lines.push(Line::Field(t(lang, "Rationale", "Utemeljitev"), d.risk_rationale.clone()));
            if audience == Audience::Authority {
                let subjects = match &d.subjects_decision {
                    Some(s) if s.notify => format!("{}: {}", t(lang, "yes", "da"), s.rationale),
                    Some(s) => format!("{}: {}", t(lang, "no", "ne"), s.rationale),
                    None => t(lang, "not decided yet", "še ni odločeno"),
                };
                lines.push(Line::Field(
                    t(lang, "Data subjects informed (Art. 34)", "Obveščanje posameznikov (člen 34)"),
                    subjects,
                ));
                let due = b.clock(Audience::Authority).and_then(|c| c.due_at);
                // The breach's reasons, else those given with a notification.
                let late = d.late_reason.clone().or_else(|| {
                    b.notifications
                        .iter()
                        .filter(|n| n.audience == Audience::Authority)
                        .find_map(|n| n.details.late_reason.clone())
                });
                if due.is_some_and(|due| now > due) || late.is_some() {
                    lines.push(Line::Heading(t(
                        lang,
                        "Reasons for the delay (Art. 33(1))",
                        "Razlogi za zamudo (člen 33(1))",
                    )));
                    lines.push(Line::Para(or_unknown(lang, late.as_deref().unwrap_or(""))));
                }
            }
        }
        Audience::Subjects => {
            lines.push(Line::Para(t(
                lang,
                &format!("{organisation} informs you of a breach of the security of personal data that concerns you. This message is about that breach only."),
                &format!("{organisation} vas obvešča o kršitvi varnosti osebnih podatkov, ki se nanaša na vas. To sporočilo govori samo o tej kršitvi."),
            )));
            lines.push(Line::Heading(t(lang, "What happened", "Kaj se je zgodilo")));
            lines.push(Line::Para(d.description.clone()));
            lines.push(Line::Field(t(lang, "When", "Kdaj"), when(lang, d.occurred_at.or(Some(d.aware_at)))));
            if !d.data_categories.is_empty() {
                lines.push(Line::Field(
                    t(lang, "Your data concerned", "Vaši prizadeti podatki"),
                    d.data_categories.join(", "),
                ));
            }
            lines.push(Line::Heading(t(lang, "What it may mean for you", "Kaj to lahko pomeni za vas")));
            lines.push(Line::Para(or_unknown(lang, &d.consequences)));
            lines.push(Line::Heading(t(lang, "What we have done", "Kaj smo storili")));
            lines.push(Line::Para(or_unknown(lang, &d.measures_taken)));
            lines.push(Line::Heading(t(lang, "What we recommend you do", "Kaj vam priporočamo")));
            lines.push(Line::Para(or_unknown(lang, &d.measures_proposed)));
            lines.push(Line::Heading(t(lang, "Who to contact", "Na koga se lahko obrnete")));
            lines.push(Line::Para(or_unknown(lang, &b.contact)));
        }
    }
    lines.push(Line::Para(String::new()));
    lines.push(Line::Field(t(lang, "Prepared", "Pripravljeno"), rfc3339(now)));
    Notice { title, lines }
}

impl Vault {
    /// The document of `audience` for a breach, as the register has it now.
    pub async fn breach_document(
        &self,
        actor: &Actor,
        tenant: Uuid,
        id: Uuid,
        audience: Audience,
        lang: Lang,
    ) -> Result<Notice> {
        let call = self
            .call(actor, Action::BreachDocument, Some(tenant))
            .detail(format!("breach={id} audience={} lang={lang:?}", audience.as_str()));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let b = self.load_breach(&t, id).await?;
                let name = self
                    .store
                    .read(move |db| queries::get_tenant(db, tenant))
                    .await?
                    .map(|r| r.name)
                    .unwrap_or_default();
                self.notice_of(tenant, &b, audience, lang, &name).await
            },
            |_, _| {},
        )
        .await
    }

    /// A breach's document for `audience`, addressed as the tenant's
    /// settings name the supervisory authority.
    pub(super) async fn notice_of(
        &self,
        tenant: Uuid,
        b: &BreachView,
        audience: Audience,
        lang: Lang,
        organisation: &str,
    ) -> Result<Notice> {
        let a = self.settings(tenant).await?.authority();
        let mut at = vec![a.name.clone(), a.address.clone(), a.email.clone()];
        at.retain(|s| !s.is_empty());
        Ok(notice(b, audience, lang, organisation, &at.join(", "), self.clock.now_ms()))
    }
}
