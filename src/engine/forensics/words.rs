//! Words that mark a document as not genuine (SAMPLE, SPECIMEN, VOID, ...)
//! in OCR text or barcode fields. Single words match with one OCR error
//! allowed when they are long enough (SAMPIE = SAMPLE).

/// Single words; matched as whole tokens.
const WORDS: [&str; 12] = [
    "SAMPLE", "SPECIMEN", "VOID", "NOVELTY", "FAKE", "DUMMY", "MUESTRA", "SPECIMAN", "REPLICA", "EXAMPLE", "TEMPLATE",
    "MUSTER",
];
/// Phrases; matched in the text with spaces normalised.
const PHRASES: [&str; 7] = [
    "NOT A GOVERNMENT DOCUMENT",
    "NOT A GOVT DOCUMENT",
    "NOT A GOVERNMENT ID",
    "NOT FOR OFFICIAL USE",
    "FOR DISPLAY ONLY",
    "NOT A LEGAL DOCUMENT",
    "FOR NOVELTY USE",
];

/// Suspicious words found in `text` (normalised forms, deduplicated).
pub fn find(text: &str) -> Vec<&'static str> {
    let upper: String =
        text.to_uppercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect();
    let tokens: Vec<&str> = upper.split_whitespace().collect();
    let joined = format!(" {} ", tokens.join(" "));
    let mut found = Vec::new();
    for phrase in PHRASES {
        if joined.contains(&format!(" {phrase} ")) && !found.contains(&phrase) {
            found.push(phrase);
        }
    }
    for word in WORDS {
        let hit = tokens.iter().any(|t| {
            *t == word || (word.len() >= 6 && t.len().abs_diff(word.len()) <= 1 && strsim::levenshtein(t, word) <= 1)
        });
        if hit && !found.contains(&word) {
            found.push(word);
        }
    }
    found
}

/// The values of an AAMVA payload (each line minus its 3-letter element id)
/// and of the decoded fields, for [`find`].
pub fn barcode_text(raw_payload: Option<&str>, values: &[Option<&str>]) -> String {
    let mut out = String::new();
    if let Some(raw) = raw_payload {
        for line in raw.split(['\n', '\r', '\u{1e}']) {
            let line = line.trim();
            let value = if line.len() > 3 && line.is_char_boundary(3) && line[..3].chars().all(|c| c.is_ascii_uppercase()) {
                &line[3..]
            } else {
                line
            };
            out.push_str(value);
            out.push('\n');
        }
    }
    for v in values.iter().flatten() {
        out.push_str(v);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_one_ocr_error_are_found() {
        assert_eq!(find("Driver License  SAMPLE"), ["SAMPLE"]);
        assert_eq!(find("sampie"), ["SAMPLE"]);
        assert_eq!(find("NOT A GOVERNMENT DOCUMENT"), ["NOT A GOVERNMENT DOCUMENT"]);
        assert_eq!(find("VOID"), ["VOID"]);
        assert!(find("DRIVER LICENSE DOB 01/02/1990 AVOID SAMPSON").is_empty());
        assert!(find("VOLD").is_empty(), "short words need an exact match");
    }

    #[test]
    fn barcode_element_ids_are_stripped() {
        let text = barcode_text(Some("@\n\u{1e}\rANSI 636014080102DL\nDCSSAMPLE\nDACJOHN\n"), &[Some("SMITH")]);
        assert_eq!(find(&text), ["SAMPLE"]);
    }
}
