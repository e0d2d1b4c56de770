//! A contact list as CSV, read into records of a collection (EximiTech's
//! customers import theirs): the file's columns mapped to fields, each
//! cell converted to its field's type, each row checked against the
//! collection's schema, and a per-row report of what is wrong (row number,
//! column, rule — never the value). A consent column says, per row,
//! whether the contact consented. Pure: text in, rows and errors out.

use super::schema::{CollectionDef, FieldType};
use super::Invalid;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One problem of one row. `row` counts data rows from 1 (the header is 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub problem: String,
}

/// A row ready to store.
#[derive(Debug, Clone)]
pub struct Row {
    pub row: usize,
    /// Canonical values (identifiers normalised), as `check_record` gives them.
    pub values: Vec<(String, Value)>,
    /// The consent column said yes.
    pub consent: bool,
    /// The evidence column's text for this row (e.g. "double opt-in 2026-01-02").
    pub evidence: Option<String>,
}

/// How the file maps to the collection.
pub struct Mapping<'a> {
    /// File column → field.
    pub columns: &'a BTreeMap<String, String>,
    /// The column that says whether the contact consented, if any.
    pub consent_column: Option<&'a str>,
    /// The column with each row's evidence of that consent, if any.
    pub evidence_column: Option<&'a str>,
}

/// The rows of `csv` (with a header line), checked; and every row's errors.
pub fn read(c: &CollectionDef, csv: &str, m: &Mapping<'_>) -> Result<(Vec<Row>, Vec<RowError>), Invalid> {
    let mut rd = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(csv.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .map_err(|_| Invalid::new("csv", "has no readable header line"))?
        .iter()
        .map(str::to_string)
        .collect();
    if m.columns.is_empty() {
        return Err(Invalid::new("columns", "must map at least one column to a field"));
    }
    let mut index = Vec::new();
    for (col, field) in m.columns {
        let Some(i) = header.iter().position(|h| h == col) else {
            return Err(Invalid::new(format!("columns.{}", printable(col)), "is not a column of the file's header"));
        };
        let Some(f) = c.field(field) else {
            return Err(Invalid::new(
                format!("columns.{}", printable(col)),
                "names a field the collection does not have",
            ));
        };
        if index.iter().any(|(_, g, _): &(usize, String, FieldType)| g == field) {
            return Err(Invalid::new(format!("columns.{}", printable(col)), "maps to a field another column maps to"));
        }
        index.push((i, field.clone(), f.field_type));
    }
    let consent_at = match m.consent_column {
        Some(col) => Some(
            header
                .iter()
                .position(|h| h == col)
                .ok_or_else(|| Invalid::new("consent.column", "is not a column of the file's header"))?,
        ),
        None => None,
    };
    let evidence_at = match m.evidence_column {
        Some(col) => Some(
            header
                .iter()
                .position(|h| h == col)
                .ok_or_else(|| Invalid::new("consent.evidence_column", "is not a column of the file's header"))?,
        ),
        None => None,
    };
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    for (n, rec) in rd.records().enumerate() {
        let row = n + 1;
        let rec = match rec {
            Ok(r) => r,
            Err(_) => {
                errors.push(RowError {
                    row,
                    column: String::new(),
                    problem: "is not a CSV row with the header's columns".into(),
                });
                continue;
            }
        };
        let mut data = Map::new();
        let mut bad = false;
        for (i, field, ty) in &index {
            let cell = rec.get(*i).unwrap_or("");
            if cell.is_empty() {
                continue;
            }
            match convert(*ty, cell) {
                Some(v) => {
                    data.insert(field.clone(), v);
                }
                None => {
                    bad = true;
                    errors.push(RowError {
                        row,
                        column: header[*i].clone(),
                        problem: format!("is not {}", type_name(*ty)),
                    });
                }
            }
        }
        let consent = match consent_at.map(|i| rec.get(i).unwrap_or("").to_lowercase()) {
            None => false,
            Some(v) => match v.as_str() {
                "yes" | "y" | "da" | "true" | "1" | "x" => true,
                "" | "no" | "n" | "ne" | "false" | "0" => false,
                _ => {
                    bad = true;
                    errors.push(RowError {
                        row,
                        column: header[consent_at.unwrap_or(0)].clone(),
                        problem: "must say yes or no (da/ne, 1/0, true/false, x or empty)".into(),
                    });
                    false
                }
            },
        };
        let evidence = evidence_at.map(|i| rec.get(i).unwrap_or("").to_string()).filter(|e| !e.is_empty());
        if evidence.as_ref().is_some_and(|e| e.len() > 2000 || e.chars().any(char::is_control)) {
            bad = true;
            errors.push(RowError {
                row,
                column: header[evidence_at.unwrap_or(0)].clone(),
                problem: "must be at most 2000 bytes of text".into(),
            });
        }
        if bad {
            continue;
        }
        match c.check_record(&data, false) {
            Ok(values) => rows.push(Row { row, values, consent, evidence }),
            Err(e) => {
                let field = e.field.trim_start_matches("data.").to_string();
                let column = m.columns.iter().find(|(_, f)| **f == field).map(|(c, _)| c.clone()).unwrap_or(field);
                errors.push(RowError { row, column, problem: e.message });
            }
        }
    }
    Ok((rows, errors))
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Integer => "an integer",
        FieldType::Number => "a number",
        FieldType::Boolean => "yes or no",
        _ => "text",
    }
}

/// A cell as its field's JSON value (`None`: it is not of that type).
fn convert(t: FieldType, cell: &str) -> Option<Value> {
    Some(match t {
        FieldType::Integer => Value::from(cell.parse::<i64>().ok()?),
        FieldType::Number => {
            serde_json::Number::from_f64(cell.replace(',', ".").parse::<f64>().ok()?).map(Value::Number)?
        }
        FieldType::Boolean => Value::Bool(match cell.to_lowercase().as_str() {
            "yes" | "da" | "true" | "1" => true,
            "no" | "ne" | "false" | "0" => false,
            _ => return None,
        }),
        _ => Value::String(cell.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contacts() -> CollectionDef {
        serde_json::from_value(json!({
            "name": "contacts", "purposes": ["newsletter"], "legal_basis": "consent", "subject_categories": ["contacts"],
            "source": "the customer's own list", "retention": {"kind": "until_consent_withdrawn"},
            "fields": [
                {"name": "email", "type": "email", "category": "contact", "required": true, "identifier": true},
                {"name": "name", "type": "string", "category": "identification"},
                {"name": "visits", "type": "integer", "category": "commercial"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn rows_are_mapped_converted_and_checked_with_a_report_per_row() {
        let cols: BTreeMap<String, String> = [("E-pošta", "email"), ("Ime", "name"), ("Obiski", "visits")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let m = Mapping { columns: &cols, consent_column: Some("Soglasje"), evidence_column: Some("Dokaz") };
        let csv = "E-pošta,Ime,Obiski,Soglasje,Dokaz\n Ana@Firma.si ,Ana,3,da,potrditev 2.1.\nbor@firma.si,\"Bor, ml.\",,ne,\nnot-mail,Cene,1,da,\nd@x.si,Dana,dve,da,\ne@x.si,Eva,1,morda,\n,Brez,1,da,\n";
        let (rows, errors) = read(&contacts(), csv, &m).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].values[0], ("email".to_string(), json!("ana@firma.si")));
        assert!(rows[0].consent && !rows[1].consent);
        assert_eq!((rows[0].evidence.as_deref(), rows[1].evidence.as_deref()), (Some("potrditev 2.1."), None));
        assert!(rows[1].values.contains(&("name".to_string(), json!("Bor, ml."))));
        let at: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(at, [(3, "E-pošta"), (4, "Obiski"), (5, "Soglasje"), (6, "E-pošta")]);
        assert!(errors.iter().all(|e| !e.problem.contains("not-mail") && !e.problem.contains("dve")));
    }

    #[test]
    fn a_bad_mapping_is_refused_whole() {
        let c = contacts();
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
        };
        let csv = "mail,ime\na@b.si,A\n";
        for (cols, field) in [
            (map(&[("x", "email")]), "columns.x"),
            (map(&[("mail", "shoe")]), "columns.mail"),
            (map(&[("mail", "email"), ("ime", "email")]), "columns.mail"),
            (map(&[]), "columns"),
        ] {
            let m = Mapping { columns: &cols, consent_column: None, evidence_column: None };
            assert_eq!(read(&c, csv, &m).unwrap_err().field, field);
        }
        let cols = map(&[("mail", "email")]);
        let m = Mapping { columns: &cols, consent_column: Some("privolitev"), evidence_column: None };
        assert_eq!(read(&c, csv, &m).unwrap_err().field, "consent.column");
    }
}
