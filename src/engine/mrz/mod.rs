//! Machine-readable zones (ICAO 9303): TD3 (passports, 2 x 44), TD1
//! (ID and passport cards, 3 x 30) and TD2 (ID cards and visas, 2 x 36).
//!
//! OCR confuses letters and digits (`0`/`O`, `1`/`I`, `5`/`S`, `8`/`B`,
//! ...), and check digits (weights 7-3-1) cannot see every swap. So each
//! position is first mapped by its field type (a date holds digits, a name
//! letters) to the allowed character the recogniser scored best (a fixed
//! look-alike table where it gave no scores, [`LineRead`]). When check
//! digits still fail, the cheapest set of at most three changes that makes
//! every check digit verify together (each field's and the composite) is
//! taken, cost being the recogniser's own log-odds against each change,
//! and only when it is clearly cheaper than the next such set; a character
//! the recogniser was sure of is never changed, so a digit changed on the
//! document fails. `<` read as `K` in filler runs (invisible to check
//! digits) is put back. A field whose check digit still fails is
//! reported, never accepted.

use chrono::NaiveDate;

use crate::engine::DocumentFields;
use crate::domain::{DataSource, DocumentType, Gender};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzFormat {
    /// Passport data page: 2 lines of 44.
    Td3,
    /// ID card / passport card: 3 lines of 30.
    Td1,
    /// ID card or visa of 105 x 74 mm: 2 lines of 36.
    Td2,
}

/// One check digit's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDigit {
    pub field: &'static str,
    pub valid: bool,
}

/// A parsed MRZ.
#[derive(Debug, Clone, PartialEq)]
pub struct Mrz {
    pub format: MrzFormat,
    /// The normalised lines (after type mapping and repairs).
    pub lines: Vec<String>,
    /// `P`, `I`, `ID`, `AC`, `IP`, ... (fillers removed).
    pub document_code: String,
    pub issuing_state: String,
    pub surname: String,
    pub given_names: String,
    pub document_number: String,
    pub nationality: String,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Gender>,
    pub expiry_date: Option<NaiveDate>,
    pub optional_data: String,
    pub checks: Vec<CheckDigit>,
    /// Characters changed to make a check digit pass (field names).
    pub repaired: Vec<&'static str>,
}

impl Mrz {
    /// Every check digit verifies.
    pub fn is_valid(&self) -> bool {
        self.checks.iter().all(|c| c.valid)
    }

    pub fn failed_checks(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| !c.valid).map(|c| c.field).collect()
    }

    /// The document type the MRZ declares.
    pub fn document_type(&self) -> DocumentType {
        match self.format {
            MrzFormat::Td3 => DocumentType::Passport,
            // The US passport card's document code is `IP`; other TD1 cards are national IDs.
            MrzFormat::Td1 if self.document_code == "IP" => DocumentType::PassportCard,
            MrzFormat::Td1 | MrzFormat::Td2 => DocumentType::IdentificationCard,
        }
    }

    /// The document record (`data_source = mrz`).
    pub fn fields(&self) -> DocumentFields {
        let mut given = self.given_names.split(' ').filter(|s| !s.is_empty());
        let first = given.next().map(str::to_string);
        let middle: Vec<&str> = given.collect();
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        DocumentFields {
            data_source: Some(DataSource::Mrz),
            document_type: Some(self.document_type()),
            document_number: non_empty(&self.document_number),
            issuing_country: non_empty(&self.issuing_state),
            first_name: first,
            middle_name: (!middle.is_empty()).then(|| middle.join(" ")),
            last_name: non_empty(&self.surname),
            birth_date: self.birth_date,
            expires_at: self.expiry_date,
            gender: self.sex,
            raw_payload: Some(self.lines.join("\n")),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    #[error("no machine-readable zone: {0}")]
    NotFound(String),
}

/// The value of one MRZ character for check digits: digits, A=10..Z=35, `<`=0.
fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u32),
        b'A'..=b'Z' => Some((c - b'A') as u32 + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The ICAO 9303 check digit (weights 7, 3, 1) of `s`, or `None` for a character outside the MRZ set.
pub fn check_digit(s: &str) -> Option<u8> {
    const W: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, b) in s.bytes().enumerate() {
        sum += char_value(b)? * W[i % 3];
    }
    Some((sum % 10) as u8 + b'0')
}

fn to_digit(c: u8) -> u8 {
    match c {
        b'O' | b'Q' | b'D' | b'U' => b'0',
        b'I' | b'L' | b'J' => b'1',
        b'Z' => b'2',
        b'S' => b'5',
        b'B' => b'8',
        b'G' => b'6',
        b'T' => b'7',
        b'A' => b'4',
        _ => c,
    }
}

fn to_letter(c: u8) -> u8 {
    match c {
        b'0' => b'O',
        b'1' => b'I',
        b'2' => b'Z',
        b'5' => b'S',
        b'8' => b'B',
        b'6' => b'G',
        b'4' => b'A',
        b'7' => b'T',
        _ => c,
    }
}

/// The alternatives OCR may have confused a character with.
fn confusables(c: u8) -> &'static [u8] {
    match c {
        b'0' => b"OQD",
        b'O' | b'Q' | b'D' => b"0",
        b'1' => b"I",
        b'I' => b"1",
        b'2' => b"Z",
        b'Z' => b"2",
        b'5' => b"S",
        b'S' => b"5",
        b'8' => b"B",
        b'B' => b"8",
        b'6' => b"G",
        b'G' => b"6",
        _ => b"",
    }
}

/// The MRZ alphabet, in the order of [`LineRead::logp`].
pub const ALPHABET: [u8; 37] = *b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";

/// The recogniser's log-probabilities of every MRZ character at one position.
pub type Scores = [f32; ALPHABET.len()];

fn alphabet_index(c: u8) -> Option<usize> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as usize),
        b'A'..=b'Z' => Some((c - b'A') as usize + 10),
        b'<' => Some(36),
        _ => None,
    }
}

/// One OCR'd line and, when the recogniser gave them, its per-character
/// log-probabilities over [`ALPHABET`] (`logp`, one row per byte of
/// `text`; empty when unknown). The corrections then weigh a change by
/// what the recogniser thought of it, not by a fixed table alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineRead {
    pub text: String,
    pub logp: Vec<Scores>,
}

impl LineRead {
    pub fn plain(text: &str) -> Self {
        Self { text: text.to_string(), logp: Vec::new() }
    }
}

/// Normalises one OCR'd line: uppercase, MRZ characters only (common OCR
/// renderings of `<` mapped), spaces dropped.
pub fn normalise_line(line: &str) -> String {
    line.chars()
        .filter_map(|c| match c {
            'a'..='z' => Some(c.to_ascii_uppercase()),
            'A'..='Z' | '0'..='9' | '<' => Some(c),
            '«' | '‹' | '(' | '[' | '{' | 'く' => Some('<'),
            _ => None,
        })
        .collect()
}

/// A line's characters and, per character, the recogniser's scores when known.
#[derive(Debug, Clone, Default)]
struct Scored {
    chars: Vec<u8>,
    scores: Vec<Option<Scores>>,
}

impl Scored {
    fn of(read: &LineRead) -> Self {
        let chars = normalise_line(&read.text).into_bytes();
        // Scores are kept only for a line that is already MRZ characters
        // (the recogniser's MRZ-alphabet reading), aligned byte for byte.
        let scores = if read.logp.len() == read.text.len() && chars == read.text.as_bytes() {
            read.logp.iter().copied().map(Some).collect()
        } else {
            vec![None; chars.len()]
        };
        Self { chars, scores }
    }
    fn len(&self) -> usize {
        self.chars.len()
    }
}

/// Fits a line to `len` characters. OCR often reads a run of fillers a
/// character or two short or long (a CTC decoder merges repeated symbols),
/// which would shift every field after it: the longest run of `<` (the empty
/// tail of a name or optional-data field) absorbs the difference. Without
/// such a run the end is padded with fillers or cut. A character lost
/// elsewhere still misplaces fields, and their check digits then fail.
fn fit(mut line: Scored, len: usize) -> Scored {
    if line.len() != len
        && let Some((start, run)) = longest_filler_run(&line.chars).filter(|&(_, run)| run >= 2)
    {
        if line.len() < len {
            let missing = len - line.len();
            line.chars.splice(start..start, std::iter::repeat_n(b'<', missing));
            line.scores.splice(start..start, std::iter::repeat_n(None, missing));
        } else {
            // Keep at least one filler: it separates the fields around it.
            let extra = (line.len() - len).min(run - 1);
            line.chars.drain(start..start + extra);
            line.scores.drain(start..start + extra);
        }
    }
    while line.len() > len && line.chars.last() == Some(&b'<') {
        line.chars.pop();
        line.scores.pop();
    }
    line.chars.truncate(len);
    line.scores.truncate(len);
    while line.len() < len {
        line.chars.push(b'<');
        line.scores.push(None);
    }
    line
}

/// (start, length) of the longest run of `<`; the last one on ties (the
/// empty tail of a line).
fn longest_filler_run(line: &[u8]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'<' {
            let start = i;
            while i < line.len() && line[i] == b'<' {
                i += 1;
            }
            if best.is_none_or(|(_, run)| i - start >= run) {
                best = Some((start, i - start));
            }
        } else {
            i += 1;
        }
    }
    best
}

/// Finds an MRZ among OCR'd lines (any order, with noise lines) and parses it.
pub fn find_in_lines(lines: &[String]) -> Result<Mrz, MrzError> {
    let reads: Vec<LineRead> = lines.iter().map(|l| LineRead::plain(l)).collect();
    find_in_reads(&reads)
}

/// [`find_in_lines`] with the recogniser's scores of each line, when known.
pub fn find_in_reads(lines: &[LineRead]) -> Result<Mrz, MrzError> {
    let mrz_first_line = |l: &LineRead| {
        let n = normalise_line(&l.text);
        (30..=46).contains(&n.len()) && n.contains("<<")
    };
    // A line without fillers (a TD2 or TD1 second line whose optional data
    // is full) counts when it follows an MRZ-like line and is mostly digits.
    let filled_line = |l: &LineRead| {
        let n = normalise_line(&l.text);
        (30..=39).contains(&n.len()) && n.bytes().filter(u8::is_ascii_digit).count() * 2 >= n.len()
    };
    let candidates: Vec<&LineRead> = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            let n = normalise_line(&l.text);
            n.len() >= 25 && (n.contains('<') || n.len() >= 40 || (*i > 0 && mrz_first_line(&lines[i - 1]) && filled_line(l)))
        })
        .map(|(_, l)| l)
        .collect();
    let len = |l: &LineRead| normalise_line(&l.text).len();
    let starts_with = |l: &LineRead, p: char| normalise_line(&l.text).starts_with(p);
    // Two consecutive lines: TD3 (~44, a passport starts with P) or TD2 (~36).
    for pair in candidates.windows(2) {
        let (a, b) = (len(pair[0]), len(pair[1]));
        if a >= 40 && b >= 38 && starts_with(pair[0], 'P') {
            return Ok(parse_two_lines(MrzFormat::Td3, pair[0], pair[1], 44));
        }
    }
    for tri in candidates.windows(3) {
        if tri.iter().all(|l| (25..=33).contains(&len(l))) {
            let [a, b, c] = td1_order([tri[0], tri[1], tri[2]]);
            return Ok(parse_td1_reads(a, b, c));
        }
    }
    for pair in candidates.windows(2) {
        let (a, b) = (len(pair[0]), len(pair[1]));
        if (32..=39).contains(&a) && (32..=39).contains(&b) && normalise_line(&pair[0].text).as_bytes()[0].is_ascii_uppercase() {
            return Ok(parse_two_lines(MrzFormat::Td2, pair[0], pair[1], 36));
        }
        if a >= 38 && b >= 38 && starts_with(pair[0], 'P') {
            return Ok(parse_two_lines(MrzFormat::Td3, pair[0], pair[1], 44));
        }
    }
    // A passport's first line whose `P` was lost (read as part of the page's edge).
    for pair in candidates.windows(2) {
        let (a, b) = (len(pair[0]), len(pair[1]));
        if (40..=43).contains(&a) && b >= 40 && starts_with(pair[0], '<') && normalise_line(&pair[0].text).contains("<<") {
            let mut first = pair[0].clone();
            first.text.insert(0, 'P');
            if !first.logp.is_empty() {
                let mut sure = [-20.0; ALPHABET.len()];
                sure[alphabet_index(b'P').unwrap_or(0)] = 0.0;
                first.logp.insert(0, sure);
            }
            return Ok(parse_two_lines(MrzFormat::Td3, &first, pair[1], 44));
        }
    }
    // The previous rule for TD1: three lines of 25..36.
    for tri in candidates.windows(3) {
        if tri.iter().all(|l| (25..=36).contains(&len(l))) {
            let [a, b, c] = td1_order([tri[0], tri[1], tri[2]]);
            return Ok(parse_td1_reads(a, b, c));
        }
    }
    Err(MrzError::NotFound(format!("{} candidate lines, no TD3, TD1 or TD2 pattern", candidates.len())))
}

/// The three lines of a TD1 zone in their order. A turned photo can list
/// them out of order, and check digits repaired over the wrong lines
/// could verify by chance: the second line is the one with the most
/// digits where the dates are (0..7, 8..15), the third the one with the
/// fewest digits (names), the first the rest.
fn td1_order<'a>(lines: [&'a LineRead; 3]) -> [&'a LineRead; 3] {
    let digits = |l: &LineRead, r: std::ops::Range<usize>| {
        normalise_line(&l.text).bytes().enumerate().filter(|(i, c)| r.contains(i) && c.is_ascii_digit()).count()
    };
    let dates = |l: &LineRead| digits(l, 0..7) + digits(l, 8..15);
    let second = (0..3).max_by_key(|&i| (dates(lines[i]), std::cmp::Reverse(i))).unwrap_or(1);
    let rest: Vec<usize> = (0..3).filter(|&i| i != second).collect();
    let (first, third) = if digits(lines[rest[1]], 0..30) < digits(lines[rest[0]], 0..30) { (rest[0], rest[1]) } else { (rest[1], rest[0]) };
    // Keep the order read unless it is clearly wrong.
    if dates(lines[1]) == dates(lines[second]) && digits(lines[2], 0..30) <= digits(lines[0], 0..30) {
        return lines;
    }
    [lines[first], lines[second], lines[third]]
}

/// Parses MRZ text (lines separated by newlines): two lines are TD3 or TD2
/// by their length, three are TD1.
pub fn parse(text: &str) -> Result<Mrz, MrzError> {
    let lines: Vec<String> = text.lines().map(normalise_line).filter(|l| !l.is_empty()).collect();
    match lines.len() {
        2 if lines[0].len() + lines[1].len() <= 80 => parse_td2(&lines[0], &lines[1]),
        2 => parse_td3(&lines[0], &lines[1]),
        3 => parse_td1(&lines[0], &lines[1], &lines[2]),
        n => Err(MrzError::NotFound(format!("{n} lines (expected 2 or 3)"))),
    }
}

/// What a position may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Anything of the alphabet (not constrained).
    Any,
    /// Digits (dates, check digits); a `<` stays.
    Digit,
    /// Letters (names, states, nationality); a `<` stays.
    Letter,
    /// `M`, `F`, `X` or `<`.
    Sex,
}

impl Class {
    fn allows(self, c: u8) -> bool {
        match self {
            Class::Any => alphabet_index(c).is_some(),
            Class::Digit => c.is_ascii_digit(),
            Class::Letter => c.is_ascii_uppercase(),
            Class::Sex => matches!(c, b'M' | b'F' | b'X' | b'<'),
        }
    }
    /// The fixed look-alike mapping, for a position without scores.
    fn table(self, c: u8) -> u8 {
        match self {
            Class::Any => c,
            Class::Digit => to_digit(c),
            Class::Letter => to_letter(c),
            Class::Sex => to_sex(c),
        }
    }
}

/// The lines of a zone being read, each fitted to its length, with the
/// recogniser's scores where known.
struct Zone {
    lines: Vec<Vec<u8>>,
    scores: Vec<Vec<Option<Scores>>>,
    /// What each position may hold (set by [`Zone::constrain`]).
    classes: Vec<Vec<Class>>,
}

/// A run of characters: (line, range).
type Span = (usize, std::ops::Range<usize>);

impl Zone {
    fn new(lines: &[&LineRead], len: usize) -> Self {
        let fitted: Vec<Scored> = lines.iter().map(|l| fit(Scored::of(l), len)).collect();
        Zone {
            classes: fitted.iter().map(|l| vec![Class::Any; l.len()]).collect(),
            scores: fitted.iter().map(|l| l.scores.clone()).collect(),
            lines: fitted.into_iter().map(|l| l.chars).collect(),
        }
    }
    fn text(&self, (line, r): &Span) -> String {
        String::from_utf8_lossy(&self.lines[*line][r.clone()]).into_owned()
    }
    fn at(&self, (line, i): (usize, usize)) -> u8 {
        self.lines[line][i]
    }
    fn set(&mut self, (line, i): (usize, usize), c: u8) {
        self.lines[line][i] = c;
    }
    /// Maps a span to what its field type allows: a character the type
    /// does not allow becomes the allowed one the recogniser scored best
    /// (else its fixed look-alike). A `<` stays.
    fn constrain(&mut self, (line, r): Span, class: Class) {
        for i in r {
            self.classes[line][i] = class;
            let c = self.lines[line][i];
            if c == b'<' || class.allows(c) {
                continue;
            }
            self.lines[line][i] = match self.scores[line][i] {
                Some(s) => ALPHABET
                    .iter()
                    .zip(s)
                    .filter(|(a, _)| class.allows(**a))
                    .max_by(|x, y| x.1.total_cmp(&y.1))
                    .map_or_else(|| class.table(c), |(a, _)| *a),
                None => class.table(c),
            };
        }
    }
    /// The cost of reading `c` at `pos` instead of what is there: the
    /// recogniser's log-odds against it, at most [`TABLE_COST`] for a
    /// letter/digit look-alike (in OCR-B the recogniser reads `O` as `0`
    /// with certainty among digits: its scores cannot tell those apart);
    /// `None` when not a candidate.
    fn cost(&self, pos: (usize, usize), c: u8) -> Option<f32> {
        let (line, i) = pos;
        let now = self.lines[line][i];
        if c == now || !self.classes[line][i].allows(c) {
            return None;
        }
        let table = table_cost(now, c);
        let scored = self.scores[line][i].and_then(|s| Some((s[alphabet_index(now)?] - s[alphabet_index(c)?]).max(0.0)));
        match (scored, table) {
            (Some(s), Some(t)) => Some(s.min(t)),
            (s, t) => s.or(t),
        }
    }
    /// Whether the change to `c` at `pos` costs the table's price (the
    /// recogniser's scores gave no better reason for it).
    fn by_table(&self, pos: (usize, usize), c: u8) -> bool {
        table_cost(self.lines[pos.0][pos.1], c).is_some_and(|table| self.cost(pos, c).is_some_and(|cost| cost >= table))
    }
    fn lines(&self) -> Vec<String> {
        self.lines.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect()
    }
}

/// A check digit over one or more spans (a field's, or the composite).
struct Check {
    name: &'static str,
    parts: Vec<Span>,
    cd: (usize, usize),
}

impl Check {
    fn ok(&self, zone: &Zone) -> bool {
        const W: [u32; 3] = [7, 3, 1];
        let (mut sum, mut k) = (0u32, 0usize);
        for (line, r) in &self.parts {
            for &c in &zone.lines[*line][r.clone()] {
                let Some(v) = char_value(c) else { return false };
                sum += v * W[k % 3];
                k += 1;
            }
        }
        zone.at(self.cd) == (sum % 10) as u8 + b'0'
    }
    fn covers(&self, (line, i): (usize, usize)) -> bool {
        self.cd == (line, i) || self.parts.iter().any(|(l, r)| *l == line && r.contains(&i))
    }
}

/// The highest cost of a letter/digit look-alike swap (`0`/`O`, `1`/`I`,
/// `8`/`B`, `5`/`S`, `2`/`Z`, `6`/`G`).
const TABLE_COST: f32 = 4.0;
/// `0` for `Q` or `D` (and back): look-alikes in other typefaces, distinct
/// glyphs in OCR-B, so less likely than `0`/`O`.
const TABLE_COST_FAR: f32 = 5.5;

/// The fixed price of reading `c` for `now`, for a letter/digit look-alike.
fn table_cost(now: u8, c: u8) -> Option<f32> {
    if !confusables(now).contains(&c) {
        return None;
    }
    Some(if matches!((now, c), (b'0', b'Q' | b'D') | (b'Q' | b'D', b'0')) { TABLE_COST_FAR } else { TABLE_COST })
}
/// A single change costlier than this (natural-log odds against it, as the
/// recogniser saw it) is not considered: a character the recogniser was
/// sure of is kept, so a digit changed on the document fails its check.
const MAX_CHANGE_COST: f32 = 6.0;
/// Nor a set of changes costlier than this in all.
const MAX_SET_COST: f32 = 9.0;
/// At most this many characters are changed.
const MAX_CHANGES: usize = 3;
/// Of which at most this many at the table's price.
const MAX_TABLE_CHANGES: usize = 1;
/// The cheapest set of changes that makes every check digit verify is
/// taken only when the next cheapest costs at least this much more
/// (otherwise the check digits cannot tell which one was printed).
const MIN_MARGIN: f32 = 1.0;
/// Candidate changes kept (the cheapest) for the search.
const MAX_CANDIDATES: usize = 48;

/// Verifies every check digit and, when some fail, takes the cheapest set
/// of changes (at most [`MAX_CHANGES`] characters, each allowed by its
/// position's field type) that makes all of them verify together (each
/// field's own check digit and the composite), cost being the
/// recogniser's log-odds against each change (a fixed cost for a
/// letter/digit look-alike where it gave no scores), when it is clearly
/// cheaper than any other such set. Returns the checks and the names of
/// the checks whose spans were changed.
fn verify_zone(zone: &mut Zone, checks: &[Check]) -> (Vec<CheckDigit>, Vec<&'static str>) {
    let mut repaired = Vec::new();
    if !checks.iter().all(|c| c.ok(zone)) {
        if let Some(fix) = cheapest_fix(zone, checks) {
            for &(pos, c, _) in &fix {
                zone.set(pos, c);
            }
            for check in checks {
                if fix.iter().any(|(pos, _, _)| check.covers(*pos)) && !repaired.contains(&check.name) && check.name != "composite" {
                    repaired.push(check.name);
                }
            }
        }
    }
    let results = checks.iter().map(|c| CheckDigit { field: c.name, valid: c.ok(zone) }).collect();
    (results, repaired)
}

type Change = ((usize, usize), u8, f32);

fn cheapest_fix(zone: &mut Zone, checks: &[Check]) -> Option<Vec<Change>> {
    let failing: Vec<usize> = (0..checks.len()).filter(|&k| !checks[k].ok(zone)).collect();
    let mut positions: Vec<(usize, usize)> = Vec::new();
    for check in checks {
        for (line, r) in &check.parts {
            positions.extend(r.clone().map(|i| (*line, i)));
        }
        positions.push(check.cd);
    }
    positions.sort_unstable();
    positions.dedup();
    let mut candidates: Vec<Change> = Vec::new();
    for &pos in &positions {
        for &c in &ALPHABET {
            if let Some(cost) = zone.cost(pos, c).filter(|&cost| cost <= MAX_CHANGE_COST) {
                candidates.push((pos, c, cost));
            }
        }
    }
    candidates.sort_by(|a, b| a.2.total_cmp(&b.2));
    candidates.truncate(MAX_CANDIDATES);

    // (cost, set) of the two cheapest sets that verify.
    let mut best: Vec<(f32, Vec<Change>)> = Vec::new();
    let mut consider = |zone: &mut Zone, set: &[Change]| {
        let cost: f32 = set.iter().map(|c| c.2).sum();
        if cost > MAX_SET_COST || (best.len() == 2 && cost >= best[1].0) {
            return;
        }
        // Each failing check must see a change; at most one table swap.
        if !failing.iter().all(|&k| set.iter().any(|(pos, _, _)| checks[k].covers(*pos))) {
            return;
        }
        if set.iter().filter(|(pos, c, _)| zone.by_table(*pos, *c)).count() > MAX_TABLE_CHANGES {
            return;
        }
        let old: Vec<u8> = set.iter().map(|(pos, _, _)| zone.at(*pos)).collect();
        for &(pos, c, _) in set {
            zone.set(pos, c);
        }
        let ok = checks.iter().all(|c| c.ok(zone));
        for (&(pos, _, _), o) in set.iter().zip(old) {
            zone.set(pos, o);
        }
        if ok {
            best.push((cost, set.to_vec()));
            best.sort_by(|a, b| a.0.total_cmp(&b.0));
            best.truncate(2);
        }
    };
    let n = candidates.len();
    for a in 0..n {
        consider(zone, &[candidates[a]]);
        if MAX_CHANGES < 2 {
            continue;
        }
        for b in a + 1..n {
            if candidates[b].0 == candidates[a].0 {
                continue;
            }
            if candidates[a].2 + candidates[b].2 > MAX_SET_COST {
                break;
            }
            consider(zone, &[candidates[a], candidates[b]]);
            if MAX_CHANGES < 3 {
                continue;
            }
            for c in b + 1..n {
                if candidates[c].0 == candidates[a].0 || candidates[c].0 == candidates[b].0 {
                    continue;
                }
                if candidates[a].2 + candidates[b].2 + candidates[c].2 > MAX_SET_COST {
                    break;
                }
                consider(zone, &[candidates[a], candidates[b], candidates[c]]);
            }
        }
    }
    match &best[..] {
        [(_, set)] => Some(set.clone()),
        [(c1, set), (c2, _)] if c2 - c1 >= MIN_MARGIN => Some(set.clone()),
        _ => None,
    }
}

/// `<` read as `K` (the glyphs share their diagonals; check digits cannot
/// see it, both count 0 mod 10): an isolated `K` between fillers in an
/// optional-data field, or after a second `<<` of a name field (names end
/// there, what follows is filler) becomes `<` again.
fn fillers_read_as_k(zone: &mut Zone, optional: &[Span], names: Option<Span>) {
    for (line, r) in optional {
        let l = &mut zone.lines[*line];
        for i in r.clone() {
            let before = i == 0 || l[i - 1] == b'<';
            let after = i + 1 >= l.len() || l[i + 1] == b'<';
            if l[i] == b'K' && before && after && (i > r.start || i + 1 < r.end) {
                l[i] = b'<';
            }
        }
    }
    if let Some((line, r)) = names {
        let text = &mut zone.lines[line][r];
        if let Some(sep) = text.windows(2).position(|w| w == b"<<") {
            let given = sep + 2;
            if let Some(end) = text[given..].windows(2).position(|w| w == b"<<").map(|p| given + p) {
                // Nothing but fillers and stray single letters after the end of the names.
                let tail = &text[end..];
                let stray = tail.split(|&c| c == b'<').all(|tok| tok.len() <= 1);
                if stray {
                    for c in &mut text[end..] {
                        *c = b'<';
                    }
                }
            }
        }
    }
}

fn to_sex(c: u8) -> u8 {
    match c {
        b'H' | b'N' => b'M',
        b'E' | b'P' => b'F',
        b'K' => b'<',
        _ => c,
    }
}

fn yymmdd(s: &str, future: bool) -> Option<NaiveDate> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: i32 = s[0..2].parse().ok()?;
    let (m, d): (u32, u32) = (s[2..4].parse().ok()?, s[4..6].parse().ok()?);
    // Expiry dates are this century; birth dates of people alive now: 00..30 -> 2000s.
    let year = if future || yy <= 30 { 2000 + yy } else { 1900 + yy };
    NaiveDate::from_ymd_opt(year, m, d)
}

fn sex(c: u8) -> Option<Gender> {
    match c {
        b'M' => Some(Gender::Male),
        b'F' => Some(Gender::Female),
        b'X' => Some(Gender::NonBinary),
        _ => None,
    }
}

fn names(field: &str) -> (String, String) {
    let field = field.trim_end_matches('<');
    let (surname, given) = field.split_once("<<").unwrap_or((field, ""));
    let clean = |s: &str| s.split('<').filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    (clean(surname), clean(given))
}

fn strip(s: &str) -> String {
    s.trim_end_matches('<').replace('<', " ").trim().to_string()
}

fn check(name: &'static str, line: usize, data: std::ops::Range<usize>, cd: usize) -> Check {
    Check { name, parts: vec![(line, data)], cd: (line, cd) }
}

/// The zone's second line in TD3 and TD2 (`n` = its length): number,
/// nationality, birth date, sex, expiry, optional data, composite.
fn td2_td3_line2(zone: &mut Zone, n: usize) -> (Vec<CheckDigit>, Vec<&'static str>) {
    zone.constrain((1, 9..10), Class::Digit);
    zone.constrain((1, 10..13), Class::Letter);
    zone.constrain((1, 13..20), Class::Digit);
    zone.constrain((1, 20..21), Class::Sex);
    zone.constrain((1, 21..28), Class::Digit);
    zone.constrain((1, n - 1..n), Class::Digit);
    let optional_end = if n == 44 { 42 } else { n - 1 };
    fillers_read_as_k(zone, &[(1, 28..optional_end)], None);
    let mut checks = vec![
        check("document_number", 1, 0..9, 9),
        check("birth_date", 1, 13..19, 19),
        check("expiry_date", 1, 21..27, 27),
    ];
    if n == 44 {
        zone.constrain((1, 42..43), Class::Digit);
        if zone.at((1, 42)) != b'<' || !zone.text(&(1, 28..42)).trim_end_matches('<').is_empty() {
            checks.push(check("personal_number", 1, 28..42, 42));
        }
    }
    checks.push(Check { name: "composite", parts: vec![(1, 0..10), (1, 13..20), (1, 21..n - 1)], cd: (1, n - 1) });
    verify_zone(zone, &checks)
}

/// TD3: line 1 `P<CCCSURNAME<<GIVEN<NAMES`, line 2 number, nationality, dates.
pub fn parse_td3(l1: &str, l2: &str) -> Result<Mrz, MrzError> {
    Ok(parse_two_lines(MrzFormat::Td3, &LineRead::plain(l1), &LineRead::plain(l2), 44))
}

/// TD2 (ID cards and visas of 105 x 74 mm): like TD3 on two lines of 36,
/// the optional data cut to 7 characters and no personal-number check digit.
pub fn parse_td2(l1: &str, l2: &str) -> Result<Mrz, MrzError> {
    Ok(parse_two_lines(MrzFormat::Td2, &LineRead::plain(l1), &LineRead::plain(l2), 36))
}

fn parse_two_lines(format: MrzFormat, l1: &LineRead, l2: &LineRead, n: usize) -> Mrz {
    let mut zone = Zone::new(&[l1, l2], n);
    zone.constrain((0, 0..1), Class::Letter);
    zone.constrain((0, 2..5), Class::Letter);
    zone.constrain((0, 5..n), Class::Letter);
    fillers_read_as_k(&mut zone, &[], Some((0, 5..n)));
    let (checks, repaired) = td2_td3_line2(&mut zone, n);
    let optional_end = if n == 44 { 42 } else { n - 1 };
    let (surname, given_names) = names(&zone.text(&(0, 5..n)));
    Mrz {
        format,
        document_code: strip(&zone.text(&(0, 0..2))),
        issuing_state: strip(&zone.text(&(0, 2..5))),
        surname,
        given_names,
        document_number: strip(&zone.text(&(1, 0..9))),
        nationality: strip(&zone.text(&(1, 10..13))),
        birth_date: yymmdd(&zone.text(&(1, 13..19)), false),
        sex: sex(zone.at((1, 20))),
        expiry_date: yymmdd(&zone.text(&(1, 21..27)), true),
        optional_data: strip(&zone.text(&(1, 28..optional_end))),
        lines: zone.lines(),
        checks,
        repaired,
    }
}

/// TD1: line 1 code, state, number, optional; line 2 dates, sex,
/// nationality, composite; line 3 names.
pub fn parse_td1(l1: &str, l2: &str, l3: &str) -> Result<Mrz, MrzError> {
    Ok(parse_td1_reads(&LineRead::plain(l1), &LineRead::plain(l2), &LineRead::plain(l3)))
}

fn parse_td1_reads(l1: &LineRead, l2: &LineRead, l3: &LineRead) -> Mrz {
    let mut zone = Zone::new(&[l1, l2, l3], 30);
    zone.constrain((0, 0..1), Class::Letter);
    zone.constrain((0, 2..5), Class::Letter);
    zone.constrain((0, 14..15), Class::Digit);
    zone.constrain((1, 0..7), Class::Digit);
    zone.constrain((1, 7..8), Class::Sex);
    zone.constrain((1, 8..15), Class::Digit);
    zone.constrain((1, 15..18), Class::Letter);
    zone.constrain((1, 29..30), Class::Digit);
    zone.constrain((2, 0..30), Class::Letter);
    fillers_read_as_k(&mut zone, &[(0, 15..30), (1, 18..29)], Some((2, 0..30)));
    let checks = [
        check("document_number", 0, 5..14, 14),
        check("birth_date", 1, 0..6, 6),
        check("expiry_date", 1, 8..14, 14),
        Check { name: "composite", parts: vec![(0, 5..30), (1, 0..7), (1, 8..15), (1, 18..29)], cd: (1, 29) },
    ];
    let (checks, repaired) = verify_zone(&mut zone, &checks);
    let (surname, given_names) = names(&zone.text(&(2, 0..30)));
    Mrz {
        format: MrzFormat::Td1,
        document_code: strip(&zone.text(&(0, 0..2))),
        issuing_state: strip(&zone.text(&(0, 2..5))),
        surname,
        given_names,
        document_number: strip(&zone.text(&(0, 5..14))),
        nationality: strip(&zone.text(&(1, 15..18))),
        birth_date: yymmdd(&zone.text(&(1, 0..6)), false),
        sex: sex(zone.at((1, 7))),
        expiry_date: yymmdd(&zone.text(&(1, 8..14)), true),
        optional_data: strip(&format!("{}{}", zone.text(&(0, 15..30)), zone.text(&(1, 18..29)))),
        lines: zone.lines(),
        checks,
        repaired,
    }
}

/// Builds a valid MRZ (for tests and fixtures).
pub mod build {
    use super::check_digit;

    fn pad(s: &str, len: usize) -> String {
        let mut s: String = s.replace(' ', "<").chars().take(len).collect();
        while s.len() < len {
            s.push('<');
        }
        s
    }

    fn cd(s: &str) -> char {
        check_digit(s).map(char::from).unwrap_or('<')
    }

    /// TD3 lines for a passport.
    #[allow(clippy::too_many_arguments)]
    pub fn td3(state: &str, surname: &str, given: &str, number: &str, nationality: &str, birth: &str, sex: char, expiry: &str) -> [String; 2] {
        let l1 = pad(&format!("P<{state}{}<<{}", surname.replace(' ', "<"), given.replace(' ', "<")), 44);
        let num = pad(number, 9);
        let personal = pad("", 14);
        let mut l2 = format!("{num}{}{nationality}{birth}{}{sex}{expiry}{}{personal}{}", cd(&num), cd(birth), cd(expiry), cd(&personal));
        let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43]);
        l2.push(cd(&composite));
        [l1, l2]
    }

    /// TD2 lines for a card of 105 x 74 mm (`code` `I<`, `AC`, ...).
    #[allow(clippy::too_many_arguments)]
    pub fn td2(code: &str, state: &str, surname: &str, given: &str, number: &str, nationality: &str, birth: &str, sex: char, expiry: &str) -> [String; 2] {
        let l1 = pad(&format!("{}{state}{}<<{}", pad(code, 2), surname.replace(' ', "<"), given.replace(' ', "<")), 36);
        let num = pad(number, 9);
        let mut l2 = format!("{num}{}{nationality}{birth}{}{sex}{expiry}{}{}", cd(&num), cd(birth), cd(expiry), pad("", 7));
        let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..35]);
        l2.push(cd(&composite));
        [l1, l2]
    }

    /// TD1 lines for a card (`code` `I<` or `IP` for a US passport card).
    #[allow(clippy::too_many_arguments)]
    pub fn td1(code: &str, state: &str, surname: &str, given: &str, number: &str, nationality: &str, birth: &str, sex: char, expiry: &str) -> [String; 3] {
        let num = pad(number, 9);
        let l1 = format!("{}{state}{num}{}{}", pad(code, 2), cd(&num), pad("", 15));
        let mut l2 = format!("{birth}{}{sex}{expiry}{}{nationality}{}", cd(birth), cd(expiry), pad("", 11));
        let composite = format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]);
        l2.push(cd(&composite));
        let l3 = pad(&format!("{}<<{}", surname.replace(' ', "<"), given.replace(' ', "<")), 30);
        [l1, l2, l3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ICAO 9303 part 4 specimen.
    const ICAO_L1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const ICAO_L2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn icao_specimen_td3_verifies() {
        let m = parse_td3(ICAO_L1, ICAO_L2).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.surname, "ERIKSSON");
        assert_eq!(m.given_names, "ANNA MARIA");
        assert_eq!(m.document_number, "L898902C3");
        assert_eq!(m.birth_date, NaiveDate::from_ymd_opt(1974, 8, 12));
        assert_eq!(m.expiry_date, NaiveDate::from_ymd_opt(2012, 4, 15));
        assert_eq!(m.sex, Some(Gender::Female));
        assert_eq!(m.document_type(), DocumentType::Passport);
    }

    #[test]
    fn icao_specimen_td1_verifies() {
        let m = parse("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<").unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.document_number, "D23145890");
        assert_eq!(m.given_names, "ANNA MARIA");
        assert_eq!(m.document_type(), DocumentType::IdentificationCard);
    }

    #[test]
    fn ocr_confusions_are_repaired_by_field_type() {
        // O for 0 in a date, 5 for S in a name, I for 1 in the number's check digit area.
        let l1 = ICAO_L1.replace("ERIKSSON", "ERIK55ON");
        let l2 = ICAO_L2.replace("7408122", "74O8122");
        let m = parse_td3(&l1, &l2).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.surname, "ERIKSSON");
        assert_eq!(m.birth_date, NaiveDate::from_ymd_opt(1974, 8, 12));
    }

    #[test]
    fn filler_runs_read_short_or_long_keep_the_fields_in_place() {
        // Two fillers lost in the personal number, three extra in the name tail.
        let l1 = ICAO_L1.replacen("<<<<<<<<<<", "<<<<<<<<<<<<<", 1);
        let l2 = ICAO_L2.replace("B<<<<<10", "B<<<10");
        let m = parse_td3(&l1, &l2).unwrap();
        assert!(m.is_valid(), "{:?} {:?}", m.checks, m.lines);
        assert_eq!(m.lines, [ICAO_L1, ICAO_L2]);
        let td1 = parse("I<UTOD231458907<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<").unwrap();
        assert!(td1.is_valid(), "{:?} {:?}", td1.checks, td1.lines);
        // A lost digit is not hidden by the realignment: its check fails.
        let m = parse_td3(ICAO_L1, &ICAO_L2.replace("7408122", "740812")).unwrap();
        assert!(!m.is_valid());
    }

    #[test]
    fn a_corrupted_digit_is_detected() {
        let l2 = ICAO_L2.replace("7408122", "7408172");
        let m = parse_td3(ICAO_L1, &l2).unwrap();
        assert!(!m.is_valid());
        assert!(m.failed_checks().contains(&"birth_date"));
    }

    #[test]
    fn builders_produce_valid_zones() {
        let [a, b] = build::td3("USA", "DOE", "JOHN PAUL", "123456789", "USA", "850315", 'M', "310101");
        let m = parse_td3(&a, &b).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.fields().middle_name.as_deref(), Some("PAUL"));
        let [a, b, c] = build::td1("IP", "USA", "DOE", "JANE", "C03005988", "USA", "900101", 'F', "300101");
        let m = parse_td1(&a, &b, &c).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.document_type(), DocumentType::PassportCard);
    }

    #[test]
    fn td2_zones_are_read() {
        let [a, b] = build::td2("I<", "UTO", "ERIKSSON", "ANNA MARIA", "D23145890", "UTO", "740812", 'F', "320415");
        assert_eq!((a.len(), b.len()), (36, 36));
        let m = parse(&format!("{a}\n{b}")).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.format, MrzFormat::Td2);
        assert_eq!(m.document_type(), DocumentType::IdentificationCard);
        assert_eq!((m.surname.as_str(), m.given_names.as_str(), m.document_number.as_str()), ("ERIKSSON", "ANNA MARIA", "D23145890"));
        assert_eq!(m.expiry_date, NaiveDate::from_ymd_opt(2032, 4, 15));
        // Found among other lines, a filler short.
        let found = find_in_lines(&["IDENTITY CARD".into(), a.replacen("<<<<", "<<<", 1), b.clone()]).unwrap();
        assert_eq!(found.format, MrzFormat::Td2);
        assert_eq!(found.lines, [a, b]);
    }

    #[test]
    fn fillers_read_as_k_are_put_back() {
        // Check digits cannot see K for < (20 and 0 are equal mod 10).
        let l1 = "I<UTOD231458907<<K<<<<<<<<<<<<";
        let l3 = "ERIKSSON<<ANNA<MARIA<<K<<<<<<<";
        let m = parse(&format!("{l1}\n7408122K1204159UTO<<<<<<<<<<<6\n{l3}")).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.lines[0], "I<UTOD231458907<<<<<<<<<<<<<<<");
        assert_eq!(m.lines[1], "7408122<1204159UTO<<<<<<<<<<<6");
        assert_eq!(m.lines[2], "ERIKSSON<<ANNA<MARIA<<<<<<<<<<");
        assert_eq!(m.given_names, "ANNA MARIA");
        // A one-letter given name stays.
        let m = parse("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<K<<<<<<<<<<<<<<<<<<<").unwrap();
        assert_eq!(m.given_names, "K");
    }

    /// A reading of `text` as the recogniser scores it: each character
    /// sure (the others 15 nats below), except the `doubts` (position, the
    /// other character, its log-odds against the one read).
    fn scored(text: &str, doubts: &[(usize, u8, f32)]) -> LineRead {
        let logp = text
            .bytes()
            .enumerate()
            .map(|(i, c)| {
                let mut row = [-15.0f32; ALPHABET.len()];
                row[alphabet_index(c).unwrap()] = 0.0;
                for &(_, other, cost) in doubts.iter().filter(|d| d.0 == i) {
                    row[alphabet_index(other).unwrap()] = -cost;
                }
                row
            })
            .collect();
        LineRead { text: text.to_string(), logp }
    }

    #[test]
    fn the_recognisers_doubt_picks_the_repair_among_look_alikes() {
        // `1` read for `I` in a number where three look-alike swaps verify.
        let [a, b, c] = build::td1("I<", "UTO", "ERIKSSON", "ANNA", "AI5B2O8S1", "UTO", "740812", 'F', "320415");
        let misread = a.replacen("AI5", "A15", 1);
        let table = parse_td1(&misread, &b, &c).unwrap();
        assert!(!table.is_valid(), "the table alone cannot tell: {:?}", table.lines);
        let reads = [scored(&misread, &[(6, b'I', 1.2)]), scored(&b, &[]), scored(&c, &[])];
        let m = find_in_reads(&reads).unwrap();
        assert!(m.is_valid(), "{:?}", m.lines);
        assert_eq!(m.document_number, "AI5B2O8S1");
        assert_eq!(m.repaired, ["document_number"]);
        // Two doubts, one of them a digit for a digit, across two fields.
        let misread_b = b.replacen("740812", "740612", 1);
        let reads = [scored(&misread, &[(6, b'I', 1.2), (7, b'S', 4.0)]), scored(&misread_b, &[(3, b'8', 2.0)]), scored(&c, &[])];
        let m = find_in_reads(&reads).unwrap();
        assert!(m.is_valid() && m.lines == [a.clone(), b.clone(), c.clone()], "{:?}", m.lines);
        assert_eq!(m.repaired, ["document_number", "birth_date"]);
    }

    #[test]
    fn a_digit_the_recogniser_was_sure_of_is_never_changed() {
        let [a, b, c] = build::td1("I<", "UTO", "ERIKSSON", "ANNA", "D23145890", "UTO", "740812", 'F', "320415");
        let printed = b.replacen("740812", "740817", 1);
        let m = find_in_reads(&[scored(&a, &[]), scored(&printed, &[]), scored(&c, &[])]).unwrap();
        assert!(!m.is_valid());
        assert_eq!(m.failed_checks(), ["birth_date", "composite"]);
        // Two changes equally likely to the recogniser: not repaired.
        let m = find_in_reads(&[scored(&a, &[]), scored(&printed, &[(5, b'2', 2.0), (4, b'6', 2.0)]), scored(&c, &[])]).unwrap();
        assert!(m.failed_checks().contains(&"birth_date"), "{:?}", m.lines);
    }

    #[test]
    fn a_misread_check_digit_is_repaired_with_the_composite() {
        let [a, b] = build::td3("UTO", "ERIKSSON", "ANNA MARIA", "L898902C3", "UTO", "740812", 'F', "320415");
        // The number's check digit 6 read as 5 (the recogniser unsure).
        let misread = b.replacen("C36", "C35", 1);
        let m = find_in_reads(&[scored(&a, &[]), scored(&misread, &[(9, b'6', 1.5)])]).unwrap();
        assert!(m.is_valid() && m.lines[1] == b, "{:?}", m.lines);
    }

    #[test]
    fn a_passport_line_whose_p_was_lost_is_still_found() {
        let m = find_in_lines(&[ICAO_L1[1..].to_string(), ICAO_L2.to_string()]).unwrap();
        assert_eq!(m.format, MrzFormat::Td3);
        assert!(m.is_valid() && m.lines == [ICAO_L1, ICAO_L2], "{:?}", m.lines);
    }

    #[test]
    fn zero_for_o_in_a_number_is_repaired_where_one_look_alike_verifies() {
        // The recogniser reads OCR-B's O as 0 among digits with certainty.
        let [a, b] = build::td3("UTO", "ERIKSSON", "ANNA", "VO84743D2", "UTO", "740812", 'F', "320415");
        let misread = b.replacen("VO8", "V08", 1);
        let m = find_in_reads(&[scored(&a, &[]), scored(&misread, &[(1, b'O', 11.0)])]).unwrap();
        assert!(m.is_valid() && m.lines[1] == b, "{:?}", m.lines);
    }

    #[test]
    fn td1_lines_read_out_of_order_are_put_back_in_order() {
        let [a, b, c] = build::td1("I<", "UTO", "ERIKSSON", "ANNA", "D23145890", "UTO", "740812", 'F', "320415");
        let m = find_in_lines(&[c.clone(), b.clone(), a.clone().replacen("I<", "1<", 1)]).unwrap();
        assert!(m.is_valid() && m.lines == [a, b, c], "{:?}", m.lines);
    }

    #[test]
    fn a_second_line_without_fillers_is_found_after_a_first_line() {
        // TD2 with its optional data full: no `<` on the second line.
        let (a, b) = ("I<ESPBOUFI<<GARPE<ANAN<<<<<<<<<<<<<<", "3K61384881ESP4010205F330423764507639");
        let m = find_in_lines(&["IDENTITY CARD".into(), a.into(), b.into()]).unwrap();
        assert!(m.format == MrzFormat::Td2 && m.is_valid() && m.lines == [a, b], "{:?}", m.lines);
        // A line of digits alone is no MRZ.
        assert!(find_in_lines(&["ACCOUNT 1234567890123456789012345".into()]).is_err());
    }

    #[test]
    fn junk_is_not_an_mrz() {
        assert!(parse("hello").is_err());
        assert!(find_in_lines(&["DRIVER LICENSE".into(), "JOHN DOE".into()]).is_err());
        let _ = parse_td3("", "");
        let _ = parse_td1("é", "<", "");
    }
}
