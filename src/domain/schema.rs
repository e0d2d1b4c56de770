//! Collections (Art. 30 records of processing) and their field schemas, and
//! the validation of record data against a schema.
//!
//! A collection definition is both the API contract and the persisted form of
//! the processing-activity record, so it derives serde and an OpenAPI schema;
//! it holds no personal data, only names and descriptions.

use super::{check_name, identifiers, Invalid};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Lawful basis of processing (GDPR Art. 6(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    Contract,
    LegalObligation,
    VitalInterest,
    PublicTask,
    LegitimateInterest,
}

/// The type a field's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    /// `YYYY-MM-DD`
    Date,
    Email,
    /// International form, stored as E.164.
    Phone,
}

/// Special categories of personal data (Art. 9) and criminal data (Art. 10).
pub const SPECIAL_CATEGORIES: &[&str] = &[
    "racial_or_ethnic_origin",
    "political_opinions",
    "religious_or_philosophical_beliefs",
    "trade_union_membership",
    "genetic",
    "biometric",
    "health",
    "sex_life_or_sexual_orientation",
    "criminal_convictions",
];

pub fn is_special_category(category: &str) -> bool {
    SPECIAL_CATEGORIES.contains(&category)
}

/// One field of a collection's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Data category, e.g. `contact`, `identification`, `financial`, or one of
    /// the special categories of Art. 9 (`health`, `biometric`, …).
    pub category: String,
    #[serde(default)]
    pub required: bool,
    /// An identifier identifies one person (an e-mail, a customer number, a
    /// national id): it finds the subject, and a record whose identifier
    /// already names another subject goes to that subject. E-mail and phone
    /// fields index as `email`/`phone`, others under their own name.
    #[serde(default)]
    pub identifier: bool,
    /// A searchable attribute may be shared by several people (a phone
    /// switchboard, an address): a look-up by it finds every subject that
    /// has it and never merges them. Indexed under the same kinds as
    /// identifiers; a field is one or the other.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub searchable: bool,
    /// Derived or observed by the controller (a score, a segment), not
    /// provided by the subject: left out of a portability archive.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub derived: bool,
}

impl FieldDef {
    /// The identifier kind this field indexes under, if it is an identifier.
    pub fn identifier_kind(&self) -> Option<&str> {
        if !self.identifier {
            return None;
        }
        Some(self.index_kind())
    }

    /// The kind this field is looked up by, if it is a searchable attribute.
    pub fn attribute_kind(&self) -> Option<&str> {
        self.searchable.then(|| self.index_kind())
    }

    fn index_kind(&self) -> &str {
        match self.field_type {
            FieldType::Email => identifiers::EMAIL,
            FieldType::Phone => identifiers::PHONE,
            _ => self.name.as_str(),
        }
    }

    /// Whether the field can single a person out: an identifier, a
    /// searchable attribute, an e-mail address or a phone number.
    pub fn identifies(&self) -> bool {
        self.identifier || self.searchable || matches!(self.field_type, FieldType::Email | FieldType::Phone)
    }

    pub fn is_special(&self) -> bool {
        is_special_category(&self.category)
    }
}

/// How long records are kept (RET-1), enforced by the retention sweep
/// (`service/retention.rs`): an expired record is deleted or anonymised
/// per the collection's erasure rule (a `refuse` rule keeps records only
/// while this period runs: at its end they are deleted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Retention {
    /// Kept for `days` after the record was last changed (`from`:
    /// `updated`, the default) or created (`created`).
    Period {
        days: u32,
        #[serde(default, skip_serializing_if = "RetentionFrom::is_updated")]
        from: RetentionFrom,
    },
    /// Kept for `days` after the subject's `event` (recorded with
    /// `POST …/subjects/{s}/retention-events`, e.g. `contract_end`); kept
    /// while the event has not happened.
    AfterEvent { event: String, days: u32 },
    /// Kept until consent is withdrawn (a withdrawal erases at once).
    UntilConsentWithdrawn,
    /// Kept until the purpose of processing ends: the subject's
    /// `purpose_ended` event (as `after_event` with 0 days).
    UntilPurposeEnds,
    /// Kept permanently, e.g. by law (staff files).
    Permanent,
}

/// What a retention period counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionFrom {
    #[default]
    Updated,
    Created,
}

impl RetentionFrom {
    fn is_updated(&self) -> bool {
        *self == RetentionFrom::Updated
    }
}

/// The event `until_purpose_ends` waits for.
pub const PURPOSE_ENDED: &str = "purpose_ended";

impl Retention {
    /// The subject event a rule counts from, with the days after it.
    pub fn event(&self) -> Option<(&str, u32)> {
        match self {
            Retention::AfterEvent { event, days } => Some((event, *days)),
            Retention::UntilPurposeEnds => Some((PURPOSE_ENDED, 0)),
            _ => None,
        }
    }
}

/// Checks a retention event's name: 1-64 of `a-z`, `0-9`, `_`.
pub fn check_event_name(field: &str, name: &str) -> Result<(), Invalid> {
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Invalid::new(field, "must be 1-64 characters of a-z, 0-9 and _"));
    }
    Ok(())
}

/// What erasing a subject does to its records in a collection (Art. 17).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum ErasureRule {
    /// The records are deleted.
    #[default]
    Delete,
    /// The records are cut from the subject: the `keep` fields (not
    /// identifying, e.g. an order's amount and date) stay, `generalise`
    /// dates are cut to their year or month, every other field is dropped.
    Anonymise {
        keep: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        generalise: BTreeMap<String, Generalise>,
    },
    /// The records are kept by law (e.g. a staff file); erasure answers
    /// with this legal reason.
    Refuse { reason: String },
}

impl ErasureRule {
    pub fn is_delete(&self) -> bool {
        matches!(self, ErasureRule::Delete)
    }
}

/// What a pseudonymised export for analysis keeps of a record (CONF-5):
/// the `keep` fields, `generalise` dates cut to a year or month; every
/// other field is dropped and the subject is replaced by a pseudonym.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    pub keep: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub generalise: BTreeMap<String, Generalise>,
}

/// How an anonymised date is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Generalise {
    /// `YYYY`
    Year,
    /// `YYYY-MM`
    Month,
}

/// The definition of a collection: its processing activity and its schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub purposes: Vec<String>,
    pub legal_basis: LegalBasis,
    pub subject_categories: Vec<String>,
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub third_country_transfers: Vec<String>,
    #[serde(default)]
    pub processors: Vec<String>,
    pub source: String,
    pub retention: Retention,
    pub fields: Vec<FieldDef>,
    /// What an erasure does to this collection's records (default: delete).
    #[serde(default, skip_serializing_if = "ErasureRule::is_delete")]
    pub erasure: ErasureRule,
    /// The purposes (of `purposes`) that are direct marketing: an objection
    /// to direct marketing (Art. 21(2)) blocks all of them at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub direct_marketing: Vec<String>,
    /// The data is derived or observed by the controller, not provided by
    /// the subject: left out of a portability archive (Art. 20). A field
    /// can say so on its own (`fields[].derived`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub derived: bool,
    /// What a pseudonymised export for analysis keeps (none: such an
    /// export is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
}

const MAX_FIELDS: usize = 200;
const MAX_TEXT: usize = 65_536;

impl CollectionDef {
    /// Checks the definition; `allow_special` is the tenant's Art. 9 setting.
    pub fn validate(&self, allow_special: bool) -> Result<(), Invalid> {
        check_name("name", &self.name)?;
        if self.purposes.is_empty() || self.purposes.iter().any(|p| p.trim().is_empty()) {
            return Err(Invalid::new("purposes", "must name at least one purpose, none empty"));
        }
        if self.subject_categories.is_empty() || self.subject_categories.iter().any(|p| p.trim().is_empty()) {
            return Err(Invalid::new(
                "subject_categories",
                "must name at least one category of data subjects, none empty",
            ));
        }
        if self.source.trim().is_empty() {
            return Err(Invalid::new("source", "must say where the data comes from"));
        }
        match &self.retention {
            Retention::Period { days: 0, .. } => return Err(Invalid::new("retention.days", "must be at least 1")),
            Retention::AfterEvent { event, .. } => check_event_name("retention.event", event)?,
            _ => {}
        }
        if self.fields.is_empty() || self.fields.len() > MAX_FIELDS {
            return Err(Invalid::new("fields", format!("must have 1-{MAX_FIELDS} fields")));
        }
        for (i, f) in self.fields.iter().enumerate() {
            check_name(&format!("fields[{i}].name"), &f.name)?;
            if self.fields[..i].iter().any(|g| g.name == f.name) {
                return Err(Invalid::new(format!("fields[{i}].name"), "is used by an earlier field"));
            }
            check_name(&format!("fields[{i}].category"), &f.category)?;
            if f.is_special() && !allow_special {
                return Err(Invalid::new(
                    format!("fields[{i}].category"),
                    "is a special category of personal data (Art. 9/10) and this tenant does not allow them",
                ));
            }
            if f.identifier && matches!(f.field_type, FieldType::Boolean | FieldType::Number | FieldType::Date) {
                return Err(Invalid::new(
                    format!("fields[{i}].identifier"),
                    "only string, integer, email and phone fields can identify a subject",
                ));
            }
            if f.searchable && matches!(f.field_type, FieldType::Boolean | FieldType::Number | FieldType::Date) {
                return Err(Invalid::new(
                    format!("fields[{i}].searchable"),
                    "only string, integer, email and phone fields can be searched by",
                ));
            }
            if f.searchable && f.identifier {
                return Err(Invalid::new(
                    format!("fields[{i}].searchable"),
                    "a field is an identifier (one person) or searchable (may be shared), not both; an identifier can be looked up already",
                ));
            }
        }
        for (i, p) in self.direct_marketing.iter().enumerate() {
            if !self.purposes.contains(p) {
                return Err(Invalid::new(format!("direct_marketing[{i}]"), "must be one of the collection's purposes"));
            }
        }
        self.validate_erasure()
    }

    fn validate_erasure(&self) -> Result<(), Invalid> {
        match &self.erasure {
            ErasureRule::Delete => Ok(()),
            ErasureRule::Refuse { reason } if reason.trim().is_empty() => {
                Err(Invalid::new("erasure.reason", "must give the legal reason the records are kept"))
            }
            ErasureRule::Refuse { .. } => Ok(()),
            ErasureRule::Anonymise { keep, generalise } => self.validate_keep("erasure", keep, generalise),
        }?;
        match &self.analysis {
            Some(a) => self.validate_keep("analysis", &a.keep, &a.generalise),
            None => Ok(()),
        }
    }

    /// Checks what an anonymised record or an analysis keeps (`at` names it).
    fn validate_keep(
        &self,
        at: &str,
        keep: &[String],
        generalise: &BTreeMap<String, Generalise>,
    ) -> Result<(), Invalid> {
        if keep.is_empty() && generalise.is_empty() {
            return Err(Invalid::new(format!("{at}.keep"), "must name the fields it keeps"));
        }
        for (i, name) in keep.iter().enumerate() {
            let path = format!("{at}.keep[{i}]");
            let f = self.field(name).ok_or_else(|| Invalid::new(&path, "is not a field of this collection"))?;
            if f.identifies() {
                return Err(Invalid::new(path, "identifies a person and cannot be kept without the subject"));
            }
            if generalise.contains_key(name) {
                return Err(Invalid::new(path, "is generalised already; name it in one of keep and generalise"));
            }
        }
        for name in generalise.keys() {
            let path = format!("{at}.generalise.{}", printable(name));
            let f = self.field(name).ok_or_else(|| Invalid::new(&path, "is not a field of this collection"))?;
            if f.field_type != FieldType::Date {
                return Err(Invalid::new(path, "only date fields can be generalised (to a year or a month)"));
            }
        }
        Ok(())
    }

    /// The data an anonymised record keeps (`None`: the rule is not anonymise).
    pub fn anonymise(&self, data: &Map<String, Value>) -> Option<Map<String, Value>> {
        let ErasureRule::Anonymise { keep, generalise } = &self.erasure else {
            return None;
        };
        Some(cut(data, keep, generalise))
    }

    /// The data a pseudonymised export keeps (`None`: no analysis rule).
    pub fn for_analysis(&self, data: &Map<String, Value>) -> Option<Map<String, Value>> {
        self.analysis.as_ref().map(|a| cut(data, &a.keep, &a.generalise))
    }

    /// Whether a purpose of this collection is direct marketing.
    pub fn is_direct_marketing(&self, purpose: &str) -> bool {
        self.direct_marketing.iter().any(|p| p == purpose)
    }

    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Validates record data and returns each given field's canonical JSON
    /// value. `partial` (PATCH) skips the required-field check.
    pub fn check_record(&self, data: &Map<String, Value>, partial: bool) -> Result<Vec<(String, Value)>, Invalid> {
        let mut out = Vec::with_capacity(data.len());
        for (name, value) in data {
            let f = self.field(name).ok_or_else(|| {
                Invalid::new(format!("data.{}", printable(name)), "is not a field of this collection")
            })?;
            let path = format!("data.{name}");
            if value.is_null() {
                if f.required {
                    return Err(Invalid::new(path, "is required and cannot be null"));
                }
                continue;
            }
            out.push((name.clone(), check_value(f, value, &path)?));
        }
        if !partial {
            if let Some(f) = self.fields.iter().find(|f| f.required && data.get(&f.name).is_none_or(Value::is_null)) {
                return Err(Invalid::new(format!("data.{}", f.name), "is required"));
            }
        }
        Ok(out)
    }
}

/// The `keep` fields of `data`, and the `generalise` dates cut.
fn cut(data: &Map<String, Value>, keep: &[String], generalise: &BTreeMap<String, Generalise>) -> Map<String, Value> {
    let mut out = Map::new();
    for name in keep {
        if let Some(v) = data.get(name) {
            out.insert(name.clone(), v.clone());
        }
    }
    for (name, g) in generalise {
        if let Some(Value::String(d)) = data.get(name) {
            let n = match g {
                Generalise::Year => 4,
                Generalise::Month => 7,
            };
            out.insert(name.clone(), Value::String(d.chars().take(n).collect()));
        }
    }
    out
}

/// Field names in errors are the client's own text: keep them short and plain.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn check_value(f: &FieldDef, v: &Value, path: &str) -> Result<Value, Invalid> {
    let wrong = |what: &str| Invalid::new(path, format!("must be {what}"));
    Ok(match f.field_type {
        FieldType::String => {
            let s = v.as_str().ok_or_else(|| wrong("a string"))?;
            if s.len() > MAX_TEXT {
                return Err(wrong("at most 65536 bytes long"));
            }
            if f.identifier || f.searchable {
                Value::String(identifiers::normalise(&f.name, s, path)?)
            } else {
                v.clone()
            }
        }
        FieldType::Integer => {
            if !(v.is_i64() || v.is_u64()) {
                return Err(wrong("an integer"));
            }
            v.clone()
        }
        FieldType::Number => {
            if !v.is_number() {
                return Err(wrong("a number"));
            }
            v.clone()
        }
        FieldType::Boolean => {
            if !v.is_boolean() {
                return Err(wrong("true or false"));
            }
            v.clone()
        }
        FieldType::Date => {
            let s = v.as_str().ok_or_else(|| wrong("a date (YYYY-MM-DD)"))?;
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(s, &fmt).map_err(|_| wrong("a date (YYYY-MM-DD)"))?;
            v.clone()
        }
        FieldType::Email => {
            let s = v.as_str().ok_or_else(|| wrong("an e-mail address"))?;
            Value::String(identifiers::normalise(identifiers::EMAIL, s, path)?)
        }
        FieldType::Phone => {
            let s = v.as_str().ok_or_else(|| wrong("a phone number"))?;
            Value::String(identifiers::normalise(identifiers::PHONE, s, path)?)
        }
    })
}

/// The identifier value a field yields for blind indexing (integers as text).
pub fn identifier_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn customers() -> CollectionDef {
        serde_json::from_value(json!({
            "name": "customers",
            "purposes": ["orders"],
            "legal_basis": "contract",
            "subject_categories": ["customers"],
            "source": "the data subject",
            "retention": {"kind": "period", "days": 365},
            "fields": [
                {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
                {"name": "name", "type": "string", "category": "identification", "required": true},
                {"name": "born", "type": "date", "category": "identification"},
                {"name": "orders", "type": "integer", "category": "commercial"},
                {"name": "vip", "type": "boolean", "category": "commercial"},
                {"name": "phone", "type": "phone", "category": "contact", "searchable": true}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn valid_definition_passes_and_special_category_needs_permission() {
        let mut c = customers();
        assert!(c.validate(false).is_ok());
        c.fields.push(FieldDef {
            name: "diagnosis".into(),
            field_type: FieldType::String,
            category: "health".into(),
            required: false,
            identifier: false,
            searchable: false,
            derived: false,
        });
        assert_eq!(c.validate(false).unwrap_err().field, "fields[6].category");
        assert!(c.validate(true).is_ok());
    }

    #[test]
    fn definition_errors_name_the_field() {
        type Mutation = Box<dyn Fn(&mut CollectionDef)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|c| c.name = "Bad Name".into()), "name"),
            (Box::new(|c| c.purposes.clear()), "purposes"),
            (Box::new(|c| c.subject_categories = vec![" ".into()]), "subject_categories"),
            (Box::new(|c| c.source = "".into()), "source"),
            (Box::new(|c| c.retention = Retention::Period { days: 0, from: RetentionFrom::Created }), "retention.days"),
            (
                Box::new(|c| c.retention = Retention::AfterEvent { event: "Contract End".into(), days: 30 }),
                "retention.event",
            ),
            (Box::new(|c| c.fields.clear()), "fields"),
            (Box::new(|c| c.fields[1].name = "email".into()), "fields[1].name"),
            (Box::new(|c| c.fields[2].category = "".into()), "fields[2].category"),
            (Box::new(|c| c.fields[4].identifier = true), "fields[4].identifier"),
            (Box::new(|c| c.fields[4].searchable = true), "fields[4].searchable"),
            (Box::new(|c| c.fields[0].searchable = true), "fields[0].searchable"),
            (Box::new(|c| c.direct_marketing = vec!["newsletter".into()]), "direct_marketing[0]"),
            (Box::new(|c| c.erasure = ErasureRule::Refuse { reason: " ".into() }), "erasure.reason"),
            (Box::new(|c| c.erasure = anonymise(&[], &[])), "erasure.keep"),
            (Box::new(|c| c.erasure = anonymise(&["shoe"], &[])), "erasure.keep[0]"),
            (Box::new(|c| c.erasure = anonymise(&["orders", "email"], &[])), "erasure.keep[1]"),
            (Box::new(|c| c.erasure = anonymise(&["orders", "phone"], &[])), "erasure.keep[1]"),
            (Box::new(|c| c.erasure = anonymise(&["born"], &["born"])), "erasure.keep[0]"),
            (Box::new(|c| c.erasure = anonymise(&["orders"], &["name"])), "erasure.generalise.name"),
            (Box::new(|c| c.erasure = anonymise(&["orders"], &["shoe"])), "erasure.generalise.shoe"),
        ];
        for (mutate, field) in cases {
            let mut c = customers();
            mutate(&mut c);
            assert_eq!(c.validate(false).unwrap_err().field, field);
        }
    }

    fn anonymise(keep: &[&str], generalise: &[&str]) -> ErasureRule {
        ErasureRule::Anonymise {
            keep: keep.iter().map(|s| s.to_string()).collect(),
            generalise: generalise.iter().map(|s| (s.to_string(), Generalise::Year)).collect(),
        }
    }

    #[test]
    fn anonymising_keeps_the_named_fields_and_cuts_dates() {
        let mut c = customers();
        assert_eq!(c.anonymise(&Map::new()), None, "the default rule deletes");
        c.erasure = ErasureRule::Anonymise {
            keep: vec!["orders".into(), "vip".into()],
            generalise: [("born".to_string(), Generalise::Month)].into(),
        };
        c.validate(false).unwrap();
        let data =
            json!({"email": "a@x.si", "name": "Ana", "born": "1990-02-03", "orders": 3, "phone": "+38641000111"});
        let kept = c.anonymise(data.as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(kept), json!({"orders": 3, "born": "1990-02"}));
        // Round trip: the default rule is not written out, others are.
        let text = serde_json::to_value(&c).unwrap();
        assert_eq!(text["erasure"]["rule"], "anonymise");
        assert!(serde_json::to_value(customers()).unwrap().get("erasure").is_none());
    }

    #[test]
    fn record_checks_name_the_field() {
        let c = customers();
        let ok = json!({"email": " Ana@X.si ", "name": "Ana", "born": "1990-02-03", "orders": 3, "vip": true, "phone": "+386 41 000 111"});
        let vals = c.check_record(ok.as_object().unwrap(), false).unwrap();
        assert!(vals.contains(&("email".into(), json!("ana@x.si"))));
        assert!(vals.contains(&("phone".into(), json!("+38641000111"))));
        let cases = [
            (json!({"email": "a@x.si", "name": "A", "shoe": 1}), "data.shoe"),
            (json!({"email": "a@x.si"}), "data.name"),
            (json!({"email": "a@x.si", "name": null}), "data.name"),
            (json!({"email": "a@x.si", "name": 5}), "data.name"),
            (json!({"email": "not-mail", "name": "A"}), "data.email"),
            (json!({"email": "a@x.si", "name": "A", "born": "1990-13-01"}), "data.born"),
            (json!({"email": "a@x.si", "name": "A", "orders": 1.5}), "data.orders"),
            (json!({"email": "a@x.si", "name": "A", "vip": "yes"}), "data.vip"),
            (json!({"email": "a@x.si", "name": "A", "phone": "041"}), "data.phone"),
        ];
        for (data, field) in cases {
            assert_eq!(c.check_record(data.as_object().unwrap(), false).unwrap_err().field, field, "{data}");
        }
        // PATCH may omit required fields but not null them.
        assert!(c.check_record(json!({"vip": false}).as_object().unwrap(), true).is_ok());
        assert!(c.check_record(json!({"name": null}).as_object().unwrap(), true).is_err());
    }
}
