//! A zip archive of named files (deflated), and CSV tables for it.

use std::io::Write;

/// The archive of `files` (name, bytes), in order.
pub fn zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(name.as_str(), opts).map_err(|e| format!("archive: {e}"))?;
        w.write_all(bytes).map_err(|e| format!("archive: {e}"))?;
    }
    Ok(w.finish().map_err(|e| format!("archive: {e}"))?.into_inner())
}

/// A CSV table (RFC 4180 quoting) with a header row.
pub fn csv(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

/// A JSON value as a CSV cell: strings as they are, null empty, the rest as JSON.
pub fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_holds_its_files_and_csv_quotes_what_needs_it() {
        let t = csv(&["a".into(), "b".into()], &[vec!["x, y".into(), "\"q\"".into()]]);
        assert_eq!(String::from_utf8(t.clone()).unwrap(), "a,b\n\"x, y\",\"\"\"q\"\"\"\n");
        let z = zip(&[("t.csv".into(), t.clone()), ("d.json".into(), b"{}".to_vec())]).unwrap();
        let mut r = ::zip::ZipArchive::new(std::io::Cursor::new(z)).unwrap();
        assert_eq!(r.len(), 2);
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut r.by_name("t.csv").unwrap(), &mut got).unwrap();
        assert_eq!(got, t);
        assert_eq!(cell(Some(&serde_json::json!(3))), "3");
        assert_eq!(cell(None), "");
    }
}
