//! Name normalisation: ASCII transliteration, punctuation, "SURNAME, Given"
//! order, honorifics, and for entities stop-words and legal suffixes.

use unicode_normalization::UnicodeNormalization;

use serde::{Deserialize, Serialize};

/// One name token: its ASCII text and a phonetic key (so "wladimir" and
/// "vladimir", "poutine" and "putin" meet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub key: String,
    /// The key with every run of vowels written `_`, when it has three
    /// consonants or more (else empty): romanisations of one name that
    /// write other vowels in the same places meet here (`m_h_m_d` for
    /// muhammad, mohamed, mohammed), names whose vowels fall elsewhere do
    /// not (`k_k_gl_` quiquigli, `k_k_g_l` kukogul).
    pub skeleton: String,
    /// A name particle ([`is_particle`]), decided once when the token is made.
    pub particle: bool,
    /// A very common name or generic company word ([`is_common_token`]).
    pub common: bool,
}

impl Token {
    pub fn new(text: String) -> Self {
        let key = phonetic_key(&text);
        let mut skeleton = String::with_capacity(key.len());
        let mut consonants = 0;
        for c in key.chars() {
            let c = if matches!(c, 'a' | 'e' | 'i' | 'o' | 'u') { '_' } else { c };
            if !skeleton.ends_with(c) {
                consonants += usize::from(c != '_');
                skeleton.push(c);
            }
        }
        if consonants < 3 {
            skeleton.clear();
        }
        let (particle, common) = (is_particle(&text), is_common_token(&text));
        Token { text, key, skeleton, particle, common }
    }
}

/// Very common given names and family names: sharing one says little
/// about being the same person (the matcher weighs them less).
const COMMON_NAMES: [&str; 72] = [
    "mohammed", "muhammad", "mohamed", "mohammad", "muhammed", "mohamad", "ahmed", "ahmad", "ali", "hassan", "hasan",
    "hussein", "husain", "omar", "umar", "abdul", "abdullah", "ibrahim", "ismail", "yusuf", "mahmoud", "khalid",
    "john", "james", "robert", "michael", "william", "david", "richard", "joseph", "thomas", "charles", "mary",
    "maria", "jose", "juan", "carlos", "luis", "anna", "ana", "elena", "olga", "irina", "tatiana", "natalia",
    "sergei", "sergey", "alexander", "aleksandr", "alexey", "aleksey", "andrei", "andrey", "dmitry", "ivan",
    "nikolai", "mikhail", "igor", "oleg", "yuri", "kim", "lee", "li", "wang", "zhang", "chen", "liu", "nguyen",
    "smith", "singh", "kumar", "khan",
];

/// Generic words of company names: sharing one says little about being
/// the same company.
const GENERIC_COMPANY_WORDS: [&str; 26] = [
    "trading", "holding", "holdings", "group", "international", "invest", "investment", "investments", "energy",
    "shipping", "logistics", "metals", "industries", "industrial", "services", "bank", "capital", "global",
    "management", "technologies", "technology", "construction", "import", "export", "commercial", "development",
];

/// Name particles ("al-", "bin", "van"): written or left out at will.
const PARTICLES: [&str; 14] = ["al", "el", "bin", "ibn", "bint", "ben", "ul", "ud", "van", "von", "der", "de", "da", "di"];

/// A very common name or a generic company word (weighs less in a match).
pub fn is_common_token(token: &str) -> bool {
    COMMON_NAMES.contains(&token) || GENERIC_COMPANY_WORDS.contains(&token)
}

pub fn is_particle(token: &str) -> bool {
    PARTICLES.contains(&token)
}

/// Lower-case ASCII: diacritics dropped, letters without a decomposition
/// (ß, æ, ø, ł, ...) and Cyrillic transliterated.
pub fn fold_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfkd() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let lower: String = c.to_lowercase().collect();
        let mapped = match lower.as_str() {
            "ß" => "ss",
            "æ" => "ae",
            "œ" => "oe",
            "ø" => "o",
            "þ" => "th",
            "ð" => "d",
            "ł" => "l",
            "đ" => "d",
            "ı" => "i",
            "а" => "a",
            "б" => "b",
            "в" => "v",
            "г" => "g",
            "ґ" => "g",
            "д" => "d",
            "е" | "ё" | "э" => "e",
            "є" => "ye",
            "ж" => "zh",
            "з" => "z",
            "и" | "і" => "i",
            "ї" => "yi",
            "й" => "y",
            "к" => "k",
            "л" => "l",
            "м" => "m",
            "н" => "n",
            "о" => "o",
            "п" => "p",
            "р" => "r",
            "с" => "s",
            "т" => "t",
            "у" => "u",
            "ф" => "f",
            "х" => "kh",
            "ц" => "ts",
            "ч" => "ch",
            "ш" => "sh",
            "щ" => "shch",
            "ъ" | "ь" => "",
            "ы" => "y",
            "ю" => "yu",
            "я" => "ya",
            "‘" | "’" | "ʼ" | "ʻ" | "`" | "´" => "'",
            _ => " ",
        };
        out.push_str(mapped);
    }
    out
}

const HONORIFICS: [&str; 8] = ["mr", "mrs", "ms", "dr", "sheikh", "shaykh", "haji", "hajji"];
const ENTITY_STOP_WORDS: [&str; 8] = ["the", "of", "and", "for", "de", "del", "la", "el"];
const LEGAL_SUFFIXES: [&str; 34] = [
    "llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company", "gmbh", "ag", "sa",
    "sas", "sarl", "srl", "spa", "plc", "llp", "lp", "pllc", "bv", "nv", "oy", "ab", "as", "jsc", "ojsc", "cjsc",
    "pjsc", "ooo", "oao", "zao", "pte", "fze",
];

/// The tokens of a name. `"SURNAME, Given"` is read as `Given SURNAME`.
/// For entities, stop-words and legal suffixes are dropped, so "EMMA LLC"
/// is `emma` and "CORP" is nothing (an empty name never matches).
pub fn name_tokens(name: &str, kind: EntryKind) -> Vec<Token> {
    let folded = fold_ascii(name);
    let ordered = match folded.split_once(',') {
        Some((surname, given)) if kind == EntryKind::Individual && !given.trim().is_empty() => {
            format!("{given} {surname}")
        }
        _ => folded,
    };
    // Apostrophes join (o'brien), every other punctuation separates.
    let cleaned: String = ordered
        .chars()
        .filter(|c| *c != '\'')
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let words = cleaned.split_whitespace().map(str::to_string);
    let tokens: Vec<String> = match kind {
        EntryKind::Individual => words.filter(|w| !HONORIFICS.contains(&w.as_str())).collect(),
        _ => {
            // "s.a." became "s a": glue single letters back before the suffix test
            let mut glued: Vec<String> = Vec::new();
            let mut run = String::new();
            for w in words {
                if w.len() == 1 {
                    run.push_str(&w);
                } else {
                    if !run.is_empty() {
                        glued.push(std::mem::take(&mut run));
                    }
                    glued.push(w);
                }
            }
            if !run.is_empty() {
                glued.push(run);
            }
            glued
                .into_iter()
                .filter(|w| !ENTITY_STOP_WORDS.contains(&w.as_str()) && !LEGAL_SUFFIXES.contains(&w.as_str()))
                .collect()
        }
    };
    tokens.into_iter().map(Token::new).collect()
}

/// A coarse phonetic key: spelling variants of transliterated names collapse
/// (`w` and `v`; `ff` and `v`, as in Smirnoff / Smirnov; `ph`, `kh`, `ou`…).
/// A single `f` stays `f`: the consonant skeleton is made from the key, and
/// `f_k_k_` / `v_k_k_` are other names.
pub fn phonetic_key(word: &str) -> String {
    // Cyrillic Е at the start is written "ye" or "e" (Yevgeny, Evgeny).
    let mut s = match word.strip_prefix("ye") {
        Some(rest) if rest.len() > 2 => format!("e{rest}"),
        _ => word.to_string(),
    };
    for (from, to) in [
        ("dzh", "j"), ("sch", "sh"), ("tch", "ch"), ("ph", "f"), ("ck", "k"), ("kh", "h"), ("gh", "g"),
        ("ou", "u"), ("oo", "u"), ("ee", "i"), ("ie", "i"), ("ey", "i"), ("ay", "ai"), ("th", "t"), ("dh", "d"),
        ("w", "v"), ("ff", "v"), ("y", "i"), ("z", "s"), ("q", "k"), ("x", "ks"), ("j", "i"),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let c = match b {
            b'c' if matches!(bytes.get(i + 1), Some(b'e' | b'i')) => b's',
            b'c' => b'k',
            _ => b,
        };
        if out.as_bytes().last() != Some(&c) {
            out.push(c as char);
        }
    }
    if out.len() > 3 && out.ends_with('e') {
        out.pop();
    }
    out
}

/// The `SDN_Type` column (`-0-` means an entity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Individual,
    #[default]
    Entity,
    Vessel,
    Aircraft,
}

impl EntryKind {
    pub fn parse(raw: Option<&str>) -> Self {
        match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("individual") => EntryKind::Individual,
            Some("vessel") => EntryKind::Vessel,
            Some("aircraft") => EntryKind::Aircraft,
            _ => EntryKind::Entity,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Individual => "individual",
            EntryKind::Entity => "entity",
            EntryKind::Vessel => "vessel",
            EntryKind::Aircraft => "aircraft",
        }
    }

    pub fn from_db(s: &str) -> Self {
        Self::parse(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(name: &str, kind: EntryKind) -> Vec<String> {
        name_tokens(name, kind).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn transliterates_to_ascii() {
        assert_eq!(fold_ascii("Müller-Lüdenscheidt"), "muller-ludenscheidt");
        assert_eq!(fold_ascii("Владимир Путин"), "vladimir putin");
        assert_eq!(fold_ascii("Øster Straße"), "oster strasse");
        assert_eq!(fold_ascii("José Ñúñez"), "jose nunez");
    }

    #[test]
    fn surname_comma_given_and_punctuation() {
        assert_eq!(texts("PUTIN, Vladimir Vladimirovich", EntryKind::Individual), ["vladimir", "vladimirovich", "putin"]);
        assert_eq!(texts("O'BRIEN, Dr. Sean-Patrick", EntryKind::Individual), ["sean", "patrick", "obrien"]);
    }

    #[test]
    fn entity_noise_is_dropped() {
        assert_eq!(texts("EMMA LLC", EntryKind::Entity), ["emma"]);
        assert!(texts("CORP", EntryKind::Entity).is_empty());
        assert_eq!(texts("The Bank of Foo S.A.", EntryKind::Entity), ["bank", "foo"]);
    }

    #[test]
    fn phonetic_keys_meet() {
        assert_eq!(phonetic_key("wladimir"), phonetic_key("vladimir"));
        assert_eq!(phonetic_key("poutine"), phonetic_key("putin"));
        assert_eq!(phonetic_key("mikhail"), phonetic_key("mihail"));
        assert_eq!(phonetic_key("yevgeny"), phonetic_key("evgeny"));
        // `ff` is the `v` of a Russian name written the French way (Smirnoff / Smirnov).
        assert_eq!(phonetic_key("smirnoff"), phonetic_key("smirnov"));
        assert_eq!(phonetic_key("waoffge"), phonetic_key("vaovge"));
        let skeleton = |w: &str| Token::new(w.into()).skeleton;
        assert_ne!(skeleton("fikuku"), skeleton("vokoko"));
        assert_eq!(skeleton("muhammad"), skeleton("mohamed"));
        assert_eq!(skeleton("mohammed"), skeleton("muhamed"));
        assert_eq!(skeleton("hussein"), skeleton("husayn"));
        assert_eq!(skeleton("khalid"), skeleton("khaled"));
        // The same consonants with the vowels elsewhere are another name.
        assert_ne!(skeleton("quiquigli"), skeleton("kukogul"));
        assert_eq!(skeleton("omar"), "");
    }
}
