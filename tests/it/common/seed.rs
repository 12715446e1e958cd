//! Reads the seed API reference (tests/fixtures/seed-api-reference.txt):
//! its sample bodies, and key/type comparison of live responses against them.

use serde_json::Value;

pub fn seed_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed-api-reference.txt"))
        .expect("seed reference")
}

/// The seed's sample notation (`{- "a": 1, - "b": {...}}`) as JSON text.
pub fn to_json_text(sample: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = sample.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '-' && chars.get(i + 1) == Some(&' ') {
            i += 1; // list marker
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// Parses the first balanced JSON value starting at `start` (`{` or `[`).
pub fn balanced_json(text: &str, start: usize) -> (Value, usize) {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &b) in bytes[start..].iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    let end = start + offset + 1;
                    let json = to_json_text(&text[start..end]);
                    let value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("seed sample: {e}\n{json}"));
                    return (value, end);
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced seed sample at {start}");
}

/// Every "Response samples" body in order (the 200 sample of each endpoint).
pub fn response_samples() -> Vec<Value> {
    let text = seed_text();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = text[pos..].find("Response samples") {
        let at = pos + found;
        let rest = &text[at..];
        let brace = rest.find(['{', '[']).map(|i| at + i);
        let null = rest.find("null").map(|i| at + i);
        match (brace, null) {
            (Some(b), Some(n)) if n < b => {
                out.push(Value::Null);
                pos = n + 4;
            }
            (Some(b), _) => {
                let (value, end) = balanced_json(&text, b);
                out.push(value);
                pos = end;
            }
            _ => break,
        }
    }
    out
}

/// Differences between a live JSON value and the seed sample: missing or
/// extra keys (recursively) and type mismatches. `null` matches any type;
/// an empty seed object (`{ }`) is a free-form map.
pub fn shape_diff(path: &str, seed: &Value, live: &Value, out: &mut Vec<String>) {
    match (seed, live) {
        (_, Value::Null) => {}
        (Value::Object(s), Value::Object(l)) => {
            if s.is_empty() {
                return;
            }
            // `{"property1": T, "property2": T}` is the seed's notation for a
            // free-form map with values of type T.
            if s.keys().all(|k| k.starts_with("property")) {
                let value_seed = s.values().next().unwrap_or(&Value::Null);
                for (k, v) in l {
                    if !value_seed.is_null() {
                        shape_diff(&format!("{path}.{k}"), value_seed, v, out);
                    }
                }
                return;
            }
            for key in s.keys() {
                match l.get(key) {
                    None => out.push(format!("{path}.{key}: missing")),
                    Some(v) => shape_diff(&format!("{path}.{key}"), &s[key], v, out),
                }
            }
            for key in l.keys() {
                if !s.contains_key(key) {
                    out.push(format!("{path}.{key}: not in the seed"));
                }
            }
        }
        (Value::Array(s), Value::Array(l)) => {
            if let Some(first) = s.first() {
                for (i, item) in l.iter().enumerate() {
                    shape_diff(&format!("{path}[{i}]"), first, item, out);
                }
            }
        }
        (Value::String(_), Value::String(_)) | (Value::Bool(_), Value::Bool(_)) | (Value::Number(_), Value::Number(_)) => {}
        (s, l) => out.push(format!("{path}: seed type {} but live {}", kind(s), kind(l))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
