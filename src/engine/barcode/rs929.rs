//! Reed-Solomon errors-and-erasures decoding over GF(929), PDF417's code.
//!
//! rxing's PDF417 error correction takes a list of erasures but does not
//! use it (it corrects errors only: at most half the error-correction
//! codewords). A codeword that no scan line read is a known position,
//! though: with erasures the code corrects `2 errors + erasures <= ec`,
//! twice as many missing codewords. [`correct`] is the textbook decoder:
//! Berlekamp-Massey started from the erasure locator, Chien search,
//! Forney's formula; it checks the result's syndromes before returning.
//!
//! PDF417 stores the codewords most significant first: codeword `j` of `n`
//! is the coefficient of `x^(n-1-j)`; a valid word has roots 3^1..3^ec.

const P: u32 = 929;

fn mul(a: u32, b: u32) -> u32 {
    a * b % P
}

fn add(a: u32, b: u32) -> u32 {
    (a + b) % P
}

fn sub(a: u32, b: u32) -> u32 {
    (a + P - b) % P
}

fn pow(mut base: u32, mut e: u32) -> u32 {
    let mut acc = 1;
    base %= P;
    while e > 0 {
        if e & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    acc
}

fn inv(a: u32) -> u32 {
    pow(a, P - 2)
}

/// 3^e (3 generates the multiplicative group of GF(929)).
fn alpha(e: u32) -> u32 {
    pow(3, e % (P - 1))
}

/// Evaluates a polynomial given lowest degree first.
fn eval_low(poly: &[u32], x: u32) -> u32 {
    poly.iter().rev().fold(0, |acc, &c| add(mul(acc, x), c))
}

/// Syndromes S_1..S_ec of `word` (most significant first).
fn syndromes(word: &[u32], ec: usize) -> Vec<u32> {
    (1..=ec as u32)
        .map(|i| {
            let x = alpha(i);
            word.iter().fold(0, |acc, &c| add(mul(acc, x), c % P))
        })
        .collect()
}

/// What a successful correction changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrected {
    /// Positions corrected that were not marked as erasures.
    pub errors: usize,
    pub erasures: usize,
}

/// Corrects `word` in place (`ec` error-correction codewords at its end;
/// `erasures` are positions whose value is unknown). `None` when the word
/// cannot be corrected: more damage than the code holds, or a result that
/// is not a codeword.
pub fn correct(word: &mut [u32], ec: usize, erasures: &[usize]) -> Option<Corrected> {
    let n = word.len();
    if ec == 0 || ec >= n || erasures.len() > ec || erasures.iter().any(|&e| e >= n) {
        return None;
    }
    for v in word.iter_mut() {
        *v %= P;
    }
    let s = syndromes(word, ec);
    if s.iter().all(|&v| v == 0) {
        return Some(Corrected { errors: 0, erasures: 0 });
    }
    // Erasure locator Gamma(x) = prod (1 - X_j x), X_j = alpha^(n-1-pos).
    let mut gamma = vec![1u32];
    for &pos in erasures {
        let xj = alpha((n - 1 - pos) as u32);
        let mut next = vec![0u32; gamma.len() + 1];
        for (i, &g) in gamma.iter().enumerate() {
            next[i] = add(next[i], g);
            next[i + 1] = sub(next[i + 1], mul(g, xj));
        }
        gamma = next;
    }
    // Berlekamp-Massey with erasures (Blahut): S_r is s[r - 1].
    let rho = erasures.len();
    let mut lambda = gamma.clone();
    let mut b = gamma;
    let mut l = rho;
    for r in (rho + 1)..=ec {
        let mut delta = 0;
        for (j, &lj) in lambda.iter().enumerate() {
            if j < r {
                delta = add(delta, mul(lj, s[r - 1 - j]));
            }
        }
        // x B(x)
        let mut xb = vec![0u32; b.len() + 1];
        xb[1..].copy_from_slice(&b);
        if delta == 0 {
            b = xb;
            continue;
        }
        let mut t = lambda.clone();
        if t.len() < xb.len() {
            t.resize(xb.len(), 0);
        }
        for (i, &v) in xb.iter().enumerate() {
            t[i] = sub(t[i], mul(delta, v));
        }
        if 2 * l < r + rho {
            let dinv = inv(delta);
            b = lambda.iter().map(|&v| mul(v, dinv)).collect();
            l = r + rho - l;
        } else {
            b = xb;
        }
        lambda = t;
    }
    while lambda.len() > 1 && lambda[lambda.len() - 1] == 0 {
        lambda.pop();
    }
    let degree = lambda.len() - 1;
    if degree == 0 || 2 * (degree - rho.min(degree)) + rho > ec {
        return None;
    }
    // Chien search over the word's positions.
    let mut positions = Vec::with_capacity(degree);
    for pos in 0..n {
        let xinv = inv(alpha((n - 1 - pos) as u32));
        if eval_low(&lambda, xinv) == 0 {
            positions.push(pos);
        }
    }
    if positions.len() != degree {
        return None;
    }
    // Omega = S(x) Lambda(x) mod x^ec; Forney (first root alpha^1): e = -Omega(X^-1) / Lambda'(X^-1).
    let mut omega = vec![0u32; ec];
    for (i, &si) in s.iter().enumerate() {
        for (j, &lj) in lambda.iter().enumerate() {
            if i + j < ec {
                omega[i + j] = add(omega[i + j], mul(si, lj));
            }
        }
    }
    let derivative: Vec<u32> = lambda.iter().enumerate().skip(1).map(|(i, &c)| mul(c, i as u32 % P)).collect();
    for &pos in &positions {
        let xinv = inv(alpha((n - 1 - pos) as u32));
        let den = eval_low(&derivative, xinv);
        if den == 0 {
            return None;
        }
        let e = sub(0, mul(eval_low(&omega, xinv), inv(den)));
        word[pos] = sub(word[pos], e);
    }
    if syndromes(word, ec).iter().any(|&v| v != 0) {
        return None;
    }
    let errors = positions.iter().filter(|p| !erasures.contains(p)).count();
    Some(Corrected { errors, erasures: rho })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rxing::pdf417::encoder::pdf_417_error_correction::generateErrorCorrection;

    fn codeword(data: &[u32], level: u32) -> Vec<u32> {
        let text: String = data.iter().map(|&c| char::from_u32(c).unwrap()).collect();
        let ec = generateErrorCorrection(&text, level).unwrap();
        data.iter().copied().chain(ec.chars().map(|c| c as u32)).collect()
    }

    #[test]
    fn errors_and_erasures_are_corrected_up_to_the_bound() {
        let data: Vec<u32> = (0..40u32).map(|i| (i * 37 + 11) % 900).collect();
        let mut data = data;
        data[0] = 40;
        let good = codeword(&data, 3); // 16 EC codewords
        assert_eq!(syndromes(&good, 16).iter().filter(|&&v| v != 0).count(), 0);
        // 5 errors + 6 erasures: 2*5 + 6 = 16.
        let mut bad = good.clone();
        for (k, pos) in [1usize, 7, 13, 22, 50].into_iter().enumerate() {
            bad[pos] = (bad[pos] + 100 + k as u32) % P;
        }
        let erasures = [3usize, 9, 30, 31, 44, 55];
        for &pos in &erasures {
            bad[pos] = 0;
        }
        let fixed = correct(&mut bad, 16, &erasures).expect("within the bound");
        assert_eq!(bad, good);
        assert_eq!(fixed.errors, 5);
        // 16 erasures alone.
        let mut bad = good.clone();
        let erasures: Vec<usize> = (0..16).map(|i| i * 3).collect();
        for &pos in &erasures {
            bad[pos] = 5;
        }
        correct(&mut bad, 16, &erasures).expect("16 erasures");
        assert_eq!(bad, good);
        // Beyond the bound: 9 errors.
        let mut bad = good.clone();
        for pos in 0..9 {
            bad[pos * 5] = (bad[pos * 5] + 1) % P;
        }
        assert_eq!(correct(&mut bad, 16, &[]), None);
    }
}
