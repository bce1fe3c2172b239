//! Dense-vector index: cosine similarity as a dot product of L2-normalized vectors.

/// Normalized embeddings stored contiguously (one row per document that has one).
#[derive(Debug, Default)]
pub struct VectorIndex {
    dim: usize,
    data: Vec<f32>,
    /// Row `r` belongs to document `docs[r]`.
    docs: Vec<u32>,
}

impl VectorIndex {
    /// Builds from `(doc, embedding)` pairs. The dimension is the most common one among
    /// the inputs; vectors of another dimension, empty, non-finite or all-zero vectors are
    /// left out (those documents stay reachable through the lexical index).
    pub fn build(vectors: &[(u32, &[f32])]) -> Self {
        let dim = most_common_dim(vectors);
        let mut index = Self {
            dim,
            ..Self::default()
        };
        if dim == 0 {
            return index;
        }
        for (doc, v) in vectors {
            if v.len() != dim {
                continue;
            }
            if let Some(unit) = normalized(v) {
                index.data.extend_from_slice(&unit);
                index.docs.push(*doc);
            }
        }
        index
    }

    /// True when at least one document has a usable embedding.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Embedding dimension (0 when empty).
    pub fn dim(&self) -> usize {
        if self.is_empty() { 0 } else { self.dim }
    }

    /// Cosine similarity of `query` with every indexed document, in row order; `None`
    /// when the query cannot be compared (wrong dimension, zero or non-finite).
    pub fn score(&self, query: &[f32]) -> Option<Vec<(u32, f32)>> {
        if self.is_empty() || query.len() != self.dim {
            return None;
        }
        let q = normalized(query)?;
        Some(
            self.data
                .chunks_exact(self.dim)
                .zip(&self.docs)
                .map(|(row, doc)| (*doc, dot(row, &q)))
                .collect(),
        )
    }
}

fn most_common_dim(vectors: &[(u32, &[f32])]) -> usize {
    let mut counts: std::collections::BTreeMap<usize, usize> = Default::default();
    for (_, v) in vectors {
        if !v.is_empty() {
            *counts.entry(v.len()).or_default() += 1;
        }
    }
    // Ties go to the smallest dimension so the choice is deterministic.
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |(d, _)| d)
}

/// L2-normalizes `v`; `None` for zero or non-finite vectors.
pub fn normalized(v: &[f32]) -> Option<Vec<f32>> {
    let norm = dot(v, v).sqrt();
    if !norm.is_finite() || norm <= f32::EPSILON {
        return None;
    }
    Some(v.iter().map(|x| x / norm).collect())
}

/// Dot product, written so the compiler can vectorize it (four independent accumulators).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_ignores_magnitude() {
        let a = [3.0, 0.0, 0.0];
        let b = [0.0, 2.0, 0.0];
        let idx = VectorIndex::build(&[(0, &a[..]), (1, &b[..])]);
        let s = idx.score(&[10.0, 0.0, 0.0]).unwrap_or_default();
        assert_eq!(s.len(), 2);
        assert!((s[0].1 - 1.0).abs() < 1e-6);
        assert!(s[1].1.abs() < 1e-6);
    }

    #[test]
    fn skips_bad_vectors_and_dimensions() {
        let good = [1.0, 2.0];
        let zero = [0.0, 0.0];
        let nan = [f32::NAN, 1.0];
        let other = [1.0, 2.0, 3.0];
        let idx = VectorIndex::build(&[
            (0, &good[..]),
            (1, &zero[..]),
            (2, &nan[..]),
            (3, &other[..]),
        ]);
        assert_eq!(idx.dim(), 2);
        assert_eq!(idx.score(&[1.0, 0.0]).map(|s| s.len()), Some(1));
        assert!(idx.score(&[1.0, 0.0, 0.0]).is_none());
        assert!(idx.score(&[0.0, 0.0]).is_none());
        assert!(VectorIndex::build(&[]).is_empty());
    }

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..11).map(|i| i as f32).collect();
        let naive: f32 = a.iter().map(|x| x * x).sum();
        assert!((dot(&a, &a) - naive).abs() < 1e-3);
    }
}
