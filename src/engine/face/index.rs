//! 1:N search over face embeddings: an exact, brute-force scan of a flat
//! `f32` array (no approximation, so no missed duplicates). At 100k
//! templates × 128 dimensions a query is ~13M multiply-adds, a few
//! milliseconds; the caller keeps one index per client in memory.

/// Embeddings with a key each (the template id).
#[derive(Debug, Clone, Default)]
pub struct FlatIndex {
    dim: usize,
    keys: Vec<String>,
    vectors: Vec<f32>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub key: String,
    pub distance: f32,
}

impl FlatIndex {
    pub fn new(dim: usize) -> Self {
        Self { dim, keys: Vec::new(), vectors: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds an embedding; a vector of the wrong length is ignored (`false`).
    pub fn insert(&mut self, key: impl Into<String>, vector: &[f32]) -> bool {
        if vector.len() != self.dim || vector.iter().any(|v| !v.is_finite()) {
            return false;
        }
        self.keys.push(key.into());
        self.vectors.extend_from_slice(vector);
        true
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// Removes every embedding with `key`.
    pub fn remove(&mut self, key: &str) {
        let mut i = 0;
        while i < self.keys.len() {
            if self.keys[i] == key {
                self.keys.swap_remove(i);
                let last = self.keys.len();
                if i != last {
                    let (head, tail) = self.vectors.split_at_mut(last * self.dim);
                    head[i * self.dim..(i + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
                }
                self.vectors.truncate(last * self.dim);
            } else {
                i += 1;
            }
        }
    }

    /// Every embedding within `max_distance` of `query`, nearest first, at
    /// most `limit`.
    pub fn search(&self, query: &[f32], max_distance: f32, limit: usize) -> Vec<Hit> {
        if query.len() != self.dim || self.dim == 0 {
            return Vec::new();
        }
        let max_sq = max_distance * max_distance;
        let mut hits: Vec<Hit> = Vec::new();
        for (i, v) in self.vectors.chunks_exact(self.dim).enumerate() {
            let d = squared_distance(query, v);
            if d <= max_sq {
                hits.push(Hit { key: self.keys[i].clone(), distance: d.sqrt() });
            }
        }
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        hits.truncate(limit);
        hits
    }
}

/// Squared L2 distance in 8 independent lanes (vectorises well).
fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let d = x[l] - y[l];
            acc[l] += d * d;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += (x - y) * (x - y);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_near_vectors_nearest_first() {
        let mut idx = FlatIndex::new(3);
        assert!(idx.insert("a", &[0.0, 0.0, 0.0]));
        assert!(idx.insert("b", &[1.0, 0.0, 0.0]));
        assert!(idx.insert("c", &[0.3, 0.0, 0.0]));
        assert!(!idx.insert("bad", &[1.0, 2.0]));
        let hits = idx.search(&[0.1, 0.0, 0.0], 0.5, 10);
        assert_eq!(hits.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(), vec!["a", "c"]);
        idx.remove("a");
        assert_eq!(idx.len(), 2);
        assert!(!idx.contains("a"));
        let hits = idx.search(&[0.1, 0.0, 0.0], 2.0, 10);
        assert_eq!(hits.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(), vec!["c", "b"]);
        assert!((squared_distance(&[1.0; 17], &[0.0; 17]) - 17.0).abs() < 1e-6);
    }
}
