//! The data behind a chart, as CSV or JSON, and as a `data:` URL for a download link.

use crate::urlstate::percent_encode;

/// One CSV field, quoted when it holds a comma, quote or newline.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV text: a header line, then one line per row.
pub fn csv(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = headers
        .iter()
        .map(|h| field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// JSON text: an array of objects keyed by the headers (numbers stay numbers).
pub fn json(headers: &[&str], rows: &[Vec<String>]) -> String {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let obj: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .zip(r)
                .map(|(h, v)| {
                    let value = v
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .and_then(serde_json::Number::from_f64)
                        .map(serde_json::Value::Number)
                        .unwrap_or_else(|| serde_json::Value::String(v.clone()));
                    (h.to_string(), value)
                })
                .collect();
            serde_json::Value::Object(obj)
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into())
}

/// A `data:` URL holding `body`.
pub fn data_url(mime: &str, body: &str) -> String {
    format!("data:{mime};charset=utf-8,{}", percent_encode(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes() {
        let rows = vec![
            vec!["a,b".to_string(), "1.5".to_string()],
            vec!["say \"hi\"".into(), "2".into()],
        ];
        assert_eq!(
            csv(&["model", "ms"], &rows),
            "model,ms\n\"a,b\",1.5\n\"say \"\"hi\"\"\",2\n"
        );
    }

    #[test]
    fn json_keeps_numbers() {
        let rows = vec![vec!["m".to_string(), "64".to_string()]];
        let v: serde_json::Value =
            serde_json::from_str(&json(&["model", "tokens"], &rows)).unwrap();
        assert_eq!(v[0]["tokens"], 64.0);
        assert_eq!(v[0]["model"], "m");
        assert!(data_url("text/csv", "a b\n").starts_with("data:text/csv;charset=utf-8,a%20b%0A"));
    }
}
