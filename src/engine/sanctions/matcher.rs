//! Token-level Jaro-Winkler name scoring.
//!
//! Unlike moov-io/watchman there is no first-letter filter: a token pair is
//! scored on its text and on its phonetic key (the better counts), so
//! "wladimir poutine" meets "vladimir putin". Tokens pair greedily, best
//! first; the score is the length-weighted mean of the pairs, lowered for
//! every token left unpaired, and a single-token agreement between
//! multi-token names is weak evidence (so "Emma Watson" is not "EMMA LLC").
//! Very common given names ("mohammed", "john", "maria"), generic company
//! words ("trading", "holding") and name particles ("al", "bin") weigh
//! less, and a match is never much better than its best agreement on a
//! distinctive token: sharing only common words is no hit.

use serde::Serialize;
use utoipa::ToSchema;

use super::normalize::Token;

/// How one token of the subject's name paired with the listed name.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TokenPair {
    /// The subject's token (normalised), or `null` for a listed token left unpaired.
    pub query: Option<String>,
    /// The listed token it paired with, `null` when none was left.
    pub listed: Option<String>,
    /// 0..1 similarity of the pair (0 when unpaired).
    pub score: f64,
}

/// How much a token's agreement counts: its length, less for very common
/// given names and much less for particles.
fn token_weight(t: &Token) -> f64 {
    let len = t.text.len() as f64;
    if t.particle {
        len * 0.2
    } else if t.common {
        len * 0.5
    } else {
        len
    }
}

/// A tokenised name, however it is stored: a slice of tokens, or the
/// index's token ids into its vocabulary (so a candidate is scored without
/// copying its tokens).
pub trait Tokens {
    fn count(&self) -> usize;
    fn at(&self, i: usize) -> &Token;
}

impl Tokens for [Token] {
    fn count(&self) -> usize {
        self.len()
    }
    fn at(&self, i: usize) -> &Token {
        &self[i]
    }
}

/// A name as ids into a vocabulary of distinct tokens.
pub struct VocabName<'a> {
    pub vocab: &'a [Token],
    pub ids: &'a [u32],
}

impl Tokens for VocabName<'_> {
    fn count(&self) -> usize {
        self.ids.len()
    }
    fn at(&self, i: usize) -> &Token {
        &self.vocab[self.ids[i] as usize]
    }
}

/// Jaro similarity of two ASCII strings (the first 64 bytes of each; the
/// characters matched and the places of `b`'s characters are bit masks).
pub fn jaro(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let (a, b) = (&a[..a.len().min(64)], &b[..b.len().min(64)]);
    // Where each byte of `b` is (by its low five bits; a byte sharing them
    // with another is told apart below), so a character's candidates in its
    // window are one mask.
    let mut at = [0u64; 32];
    for (j, &cb) in b.iter().enumerate() {
        at[(cb & 31) as usize] |= 1 << j;
    }
    let (mut a_hit, mut b_hit) = (0u64, 0u64);
    let mut matches = 0u32;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        if lo >= hi {
            continue;
        }
        let in_window = (u64::MAX >> (64 - (hi - lo))) << lo;
        let mut free = at[(ca & 31) as usize] & in_window & !b_hit;
        while free != 0 {
            let j = free.trailing_zeros() as usize;
            if b[j] == ca {
                a_hit |= 1 << i;
                b_hit |= 1 << j;
                matches += 1;
                break;
            }
            free &= free - 1;
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // The matched characters of each side in order: count the places where they differ.
    let mut transpositions = 0u32;
    let (mut ai, mut bi) = (a_hit, b_hit);
    while ai != 0 {
        let (i, k) = (ai.trailing_zeros() as usize, bi.trailing_zeros() as usize);
        transpositions += u32::from(a[i] != b[k]);
        ai &= ai - 1;
        bi &= bi - 1;
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64 / 2.0) / m) / 3.0
}

/// Jaro-Winkler: prefix scale 0.1 over at most 4 characters, applied above 0.7.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let j = jaro(a, b);
    if j <= 0.7 {
        return j;
    }
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    j + prefix * 0.1 * (1.0 - j)
}

/// Similarity of two tokens: the better of their text and phonetic keys,
/// lowered when one token is much shorter than the other (Jaro-Winkler's
/// prefix bonus otherwise rates "shide" ~ "shideovmov" at 0.9).
pub fn token_similarity(a: &Token, b: &Token) -> f64 {
    if a.text == b.text {
        return 1.0;
    }
    let text = jaro_winkler(&a.text, &b.text);
    // (Equal keys score 1.0, and keys equal to their texts score as the
    // texts did: neither needs comparing again.)
    let mut key = if a.key.is_empty() || b.key.is_empty() {
        0.0
    } else if a.key == b.key {
        0.98
    } else if a.key == a.text && b.key == b.text {
        text * 0.98
    } else {
        jaro_winkler(&a.key, &b.key) * 0.98
    };
    // Romanisations of one Arabic or Cyrillic name share their consonants,
    // with vowels in the same places (muhammad / mohamed / mohammed,
    // hussein / husayn).
    if !a.skeleton.is_empty() && a.skeleton == b.skeleton {
        key = key.max(SKELETON_SIMILARITY);
    }
    let (la, lb) = (a.text.len() as f64, b.text.len() as f64);
    let ratio = la.min(lb) / la.max(lb).max(1.0);
    let length_penalty = if ratio < LENGTH_RATIO_FREE { 1.0 - (LENGTH_RATIO_FREE - ratio) * 0.6 } else { 1.0 };
    text.max(key) * length_penalty
}

/// Tokens whose lengths are at least this close (shorter / longer) are
/// compared without a length penalty: "putn" / "putin", "poutine" / "putin".
const LENGTH_RATIO_FREE: f64 = 0.7;

/// How far a name score may exceed its best distinctive token agreement.
pub const DISTINCTIVE_MARGIN: f64 = 0.02;

/// Similarity of two tokens with the same consonant skeleton (vowels in
/// the same places).
const SKELETON_SIMILARITY: f64 = 0.93;

/// 0..1 similarity of two tokenised names.
pub fn name_score(query: &[Token], candidate: &[Token]) -> f64 {
    name_score_detail(query, candidate, false).0
}

/// [`name_score`] with the token pairs when `explain` is set.
pub fn name_score_detail(query: &[Token], candidate: &[Token], explain: bool) -> (f64, Vec<TokenPair>) {
    name_score_of(query, candidate, explain)
}

/// Tokens left unpaired that are not particles.
fn unpaired_in<T: Tokens + ?Sized>(tokens: &T, used: u64) -> usize {
    (0..tokens.count()).filter(|&i| (i >= 64 || used & (1 << i) == 0) && !tokens.at(i).particle).count()
}

/// Tokens that are not particles.
fn substantial<T: Tokens + ?Sized>(tokens: &T) -> usize {
    (0..tokens.count()).filter(|&i| !tokens.at(i).particle).count()
}

/// Token pairs scored on the stack when there are at most this many.
const STACK_PAIRS: usize = 64;

/// [`name_score_detail`] over any token storage.
pub fn name_score_of<Q: Tokens + ?Sized, C: Tokens + ?Sized>(query: &Q, candidate: &C, explain: bool) -> (f64, Vec<TokenPair>) {
    name_score_with(query, candidate, explain, |i, j| token_similarity(query.at(i), candidate.at(j)))
}

/// [`name_score_of`] with the token similarities from `similarity(i, j)`
/// (query token `i`, candidate token `j`), which must equal
/// [`token_similarity`]: the index passes values it computed once per
/// screening for every distinct listed token.
pub fn name_score_with<Q: Tokens + ?Sized, C: Tokens + ?Sized>(
    query: &Q,
    candidate: &C,
    explain: bool,
    mut similarity: impl FnMut(usize, usize) -> f64,
) -> (f64, Vec<TokenPair>) {
    let (nq, nc) = (query.count(), candidate.count());
    if nq == 0 || nc == 0 {
        return (0.0, vec![]);
    }
    let mut stack = [(0.0f64, 0u8, 0u8); STACK_PAIRS];
    let mut heap = Vec::new();
    let sims: &mut [(f64, u8, u8)] = if nq * nc <= STACK_PAIRS && nq < 64 && nc < 64 {
        &mut stack[..nq * nc]
    } else {
        heap.resize(nq.min(64) * nc.min(64), (0.0, 0, 0));
        &mut heap[..]
    };
    let mut k = 0;
    for i in 0..nq.min(64) {
        for j in 0..nc.min(64) {
            sims[k] = (similarity(i, j), i as u8, j as u8);
            k += 1;
        }
    }
    sims.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let (mut q_used, mut c_used) = (0u64, 0u64);
    let (mut num, mut den, mut strong_pairs) = (0.0, 0.0, 0usize);
    // The best agreement on a token that is neither common nor a particle.
    let mut best_distinctive: Option<f64> = None;
    let mut explained = Vec::new();
    for &(s, i, j) in sims.iter() {
        let (i, j) = (i as usize, j as usize);
        if q_used & (1 << i) != 0 || c_used & (1 << j) != 0 {
            continue;
        }
        q_used |= 1 << i;
        c_used |= 1 << j;
        let (q, c) = (query.at(i), candidate.at(j));
        // Initials weigh little; long tokens carry the identity.
        let w = token_weight(q) + token_weight(c);
        num += s * w;
        den += w;
        if !q.particle && !c.particle {
            strong_pairs += 1;
        }
        let distinctive = |t: &Token| !t.particle && !t.common;
        if distinctive(q) || distinctive(c) {
            best_distinctive = Some(best_distinctive.map_or(s, |b: f64| b.max(s)));
        }
        if explain {
            explained.push(TokenPair { query: Some(q.text.clone()), listed: Some(c.text.clone()), score: s });
        }
    }
    let core = if den > 0.0 { num / den } else { 0.0 };
    // Particles left unpaired ("al-" written or not) cost nothing.
    let unpaired = unpaired_in(query, q_used) + unpaired_in(candidate, c_used);
    let mut score = core * (1.0 - 0.04 * unpaired.min(5) as f64);
    if strong_pairs < 2 && (substantial(query) > 1 || substantial(candidate) > 1) {
        score *= 0.75;
    }
    if let Some(best) = best_distinctive {
        score = score.min(best + DISTINCTIVE_MARGIN);
    }
    if explain {
        for i in 0..nq {
            if i >= 64 || q_used & (1 << i) == 0 {
                explained.push(TokenPair { query: Some(query.at(i).text.clone()), listed: None, score: 0.0 });
            }
        }
        for j in 0..nc {
            if j >= 64 || c_used & (1 << j) == 0 {
                explained.push(TokenPair { query: None, listed: Some(candidate.at(j).text.clone()), score: 0.0 });
            }
        }
    }
    (score.clamp(0.0, 1.0), explained)
}

#[cfg(test)]
mod tests {
    use super::super::csv::EntryKind;
    use super::super::normalize::name_tokens;
    use super::*;

    fn score(a: &str, b: &str) -> f64 {
        name_score(&name_tokens(a, EntryKind::Individual), &name_tokens(b, EntryKind::Individual))
    }

    /// The textbook Jaro of two non-empty strings (their first 64 bytes, the
    /// window from their whole lengths), to check the bitwise one against.
    fn jaro_reference(whole_a: &[u8], whole_b: &[u8]) -> f64 {
        let window = (whole_a.len().max(whole_b.len()) / 2).max(1) - 1;
        let (a, b) = (whole_a.iter().take(64).copied().collect::<Vec<u8>>(), whole_b.iter().take(64).copied().collect::<Vec<u8>>());
        let (mut a_hit, mut b_hit) = (vec![false; a.len()], vec![false; b.len()]);
        let mut matches = 0usize;
        for (i, &ca) in a.iter().enumerate() {
            for j in i.saturating_sub(window)..(i + window + 1).min(b.len()) {
                if !b_hit[j] && b[j] == ca {
                    a_hit[i] = true;
                    b_hit[j] = true;
                    matches += 1;
                    break;
                }
            }
        }
        if matches == 0 {
            return 0.0;
        }
        let a_m: Vec<u8> = a.iter().zip(&a_hit).filter(|(_, h)| **h).map(|(c, _)| *c).collect();
        let b_m: Vec<u8> = b.iter().zip(&b_hit).filter(|(_, h)| **h).map(|(c, _)| *c).collect();
        let t = a_m.iter().zip(&b_m).filter(|(x, y)| x != y).count();
        let m = matches as f64;
        (m / a.len() as f64 + m / b.len() as f64 + (m - t as f64 / 2.0) / m) / 3.0
    }

    #[test]
    fn bitwise_jaro_equals_the_textbook_one() {
        let mut rng = super::super::synthetic::Rng(0x1a2b3c);
        for _ in 0..20_000 {
            let word = |rng: &mut super::super::synthetic::Rng| -> Vec<u8> {
                let len = 1 + (rng.next() % 70) as usize;
                (0..len).map(|_| b"abcdeop0"[(rng.next() % 8) as usize]).collect()
            };
            let (a, b) = (word(&mut rng), word(&mut rng));
            assert_eq!(jaro(&a, &b).to_bits(), jaro_reference(&a, &b).to_bits(), "{:?} {:?}", String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn token_similarity_shortcuts_equal_the_full_comparison() {
        // Equal keys are not compared: their Jaro-Winkler is exactly 1, so
        // 0.98 is what the comparison gave (keys equal to their texts
        // compare as the texts do, trivially).
        let mut rng = super::super::synthetic::Rng(0xfeed);
        for _ in 0..2_000 {
            let len = 1 + (rng.next() % 40) as usize;
            let w: String = (0..len).map(|_| b"abcdeiklmnorsuvyz"[(rng.next() % 17) as usize] as char).collect();
            assert_eq!(jaro_winkler(&w, &w).to_bits(), 1.0f64.to_bits(), "{w}");
            assert_eq!((jaro_winkler(&w, &w) * 0.98).to_bits(), 0.98f64.to_bits());
        }
    }

    #[test]
    fn jaro_winkler_reference_values() {
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro_winkler("dwayne", "duane") - 0.84).abs() < 1e-2);
        assert_eq!(jaro_winkler("abc", "abc"), 1.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
    }

    #[test]
    fn no_first_letter_blind_spot() {
        assert!(score("wladimir poutine", "PUTIN, Vladimir") > 0.92, "{}", score("wladimir poutine", "PUTIN, Vladimir"));
    }

    #[test]
    fn order_typos_and_extra_names() {
        assert!(score("Vladimir Putin", "PUTIN, Vladimir") > 0.99);
        assert!(score("Vladimir Putn", "PUTIN, Vladimir") > 0.92);
        assert!(score("Vladimir Putin", "PUTIN, Vladimir Vladimirovich") > 0.92);
        assert!(score("Vladimir Smith", "PUTIN, Vladimir") < 0.85);
        assert!(score("Emma Watson", "EMMA") < 0.8);
    }

    #[test]
    fn romanisation_variants_and_particles() {
        assert!(score("Mohamed Hussein", "HUSAYN, Muhammad") > 0.9, "{}", score("Mohamed Hussein", "HUSAYN, Muhammad"));
        assert!(score("Ayman Zawahiri", "AL-ZAWAHIRI, Ayman") > 0.95, "{}", score("Ayman Zawahiri", "AL-ZAWAHIRI, Ayman"));
        assert!(score("Yevgeniy Prigozhin", "PRIGOZHIN, Evgeny") > 0.9, "{}", score("Yevgeniy Prigozhin", "PRIGOZHIN, Evgeny"));
        assert!(score("Aleksandr Lukashenko", "LUKASHENKA, Alexander") > 0.9);
    }

    #[test]
    fn a_shared_common_given_name_is_weak_evidence() {
        // Only the common given name agrees, the surnames are alike but different people.
        let common = score("Mohammed Karimi", "KAZEMI, Mohammed");
        let rare = score("Zbigniew Karimi", "KAZEMI, Zbigniew");
        assert!(common < rare, "{common} vs {rare}");
        assert!(common < 0.9, "{common}");
        let (s, pairs) = name_score_detail(&name_tokens("Ali Reza Tehrani", EntryKind::Individual), &name_tokens("TEHRANI, Ali", EntryKind::Individual), true);
        assert!(s > 0.8 && pairs.len() == 3 && pairs.iter().any(|p| p.listed.is_none()), "{s} {pairs:?}");
    }

    #[test]
    fn a_short_name_is_not_the_prefix_of_a_long_one() {
        assert!(score("Musa Shideovmov", "SHIDE, Musa") < 0.9, "{}", score("Musa Shideovmov", "SHIDE, Musa"));
        assert!(score("Dmitri Kazagulmir", "KASA, Dmitri") < 0.9);
        assert!(score("Vladimir Poutine", "PUTIN, Vladimir") > 0.92);
    }
}
