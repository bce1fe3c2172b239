//! Combining the lexical and vector rankings into one.

use serde::{Deserialize, Serialize};

/// How hybrid search merges the two rankings. Both inputs are restricted to documents the
/// caller may see before fusion, so ranks never depend on hidden tools.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Fusion {
    /// Reciprocal-rank fusion: `Σ 1 / (k + rank)`. Scale-free and robust, but throws away
    /// how confident each method was.
    Rrf {
        /// Rank offset; 60 in the original paper.
        k: f32,
    },
    /// Convex combination of scores, each scaled to `[0, 1]` by its maximum over the
    /// candidates: `w · bm25 / max_bm25 + (1 − w) · (cos − min_cos) / (max_cos − min_cos)`.
    /// Keeps confidence, so a strong exact-name match survives a mediocre vector rank.
    Convex {
        /// Weight of the lexical score, in `[0, 1]`.
        lexical_weight: f32,
    },
}

impl Default for Fusion {
    /// Chosen with the evaluation in `tests/search-eval` (see docs/search.md).
    fn default() -> Self {
        Fusion::Convex {
            lexical_weight: 0.25,
        }
    }
}

/// Fuses `(doc, score)` lists over documents `0..n_docs`. `lexical` holds only documents
/// with a positive BM25 score; `vector` holds every candidate with an embedding. Output is
/// in document order.
pub fn fuse(
    fusion: Fusion,
    n_docs: usize,
    lexical: &[(u32, f32)],
    vector: &[(u32, f32)],
) -> Vec<(u32, f32)> {
    let mut acc = Accumulator::new(n_docs);
    match fusion {
        Fusion::Rrf { k } => {
            let k = k.max(0.0);
            for list in [lexical, vector] {
                for (rank, (doc, _)) in ranked(list).into_iter().enumerate() {
                    acc.add(doc, 1.0 / (k + rank as f32 + 1.0));
                }
            }
        }
        Fusion::Convex { lexical_weight } => {
            let w = lexical_weight.clamp(0.0, 1.0);
            let max_lex = lexical.iter().map(|(_, s)| *s).fold(0.0f32, f32::max);
            if max_lex > 0.0 {
                for (doc, s) in lexical {
                    acc.add(*doc, w * s / max_lex);
                }
            }
            let (lo, hi) = vector
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, s)| {
                    (lo.min(*s), hi.max(*s))
                });
            let span = hi - lo;
            for (doc, s) in vector {
                let scaled = if span > f32::EPSILON {
                    (s - lo) / span
                } else {
                    1.0
                };
                acc.add(*doc, (1.0 - w) * scaled);
            }
        }
    }
    acc.finish()
}

/// Dense per-document sums: cheaper than hashing when most documents are candidates,
/// which is the case as soon as vectors are involved.
struct Accumulator {
    score: Vec<f32>,
    seen: Vec<bool>,
}

impl Accumulator {
    fn new(n: usize) -> Self {
        Self {
            score: vec![0.0; n],
            seen: vec![false; n],
        }
    }

    fn add(&mut self, doc: u32, value: f32) {
        let i = doc as usize;
        if let (Some(s), Some(seen)) = (self.score.get_mut(i), self.seen.get_mut(i)) {
            *s += value;
            *seen = true;
        }
    }

    fn finish(self) -> Vec<(u32, f32)> {
        self.seen
            .iter()
            .zip(self.score)
            .enumerate()
            .filter(|(_, (seen, _))| **seen)
            .map(|(i, (_, s))| (u32::try_from(i).unwrap_or(u32::MAX), s))
            .collect()
    }
}

/// Sorts by score descending, ties by document id, so ranks are deterministic.
fn ranked(list: &[(u32, f32)]) -> Vec<(u32, f32)> {
    let mut v = list.to_vec();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(mut v: Vec<(u32, f32)>) -> u32 {
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.first().map_or(u32::MAX, |x| x.0)
    }

    #[test]
    fn rrf_rewards_agreement() {
        let lex = [(1, 9.0), (2, 5.0)];
        let vec = [(2, 0.9), (3, 0.8), (1, 0.1)];
        assert_eq!(top(fuse(Fusion::Rrf { k: 60.0 }, 8, &lex, &vec)), 2);
    }

    #[test]
    fn convex_keeps_confidence() {
        let lex = [(1, 10.0), (2, 1.0)];
        let vec = [(2, 0.50), (1, 0.49), (3, 0.1)];
        let half = Fusion::Convex {
            lexical_weight: 0.5,
        };
        let vector_only = Fusion::Convex {
            lexical_weight: 0.0,
        };
        assert_eq!(top(fuse(half, 8, &lex, &vec)), 1);
        assert_eq!(top(fuse(vector_only, 8, &lex, &vec)), 2);
    }

    #[test]
    fn handles_empty_inputs() {
        assert!(fuse(Fusion::default(), 8, &[], &[]).is_empty());
        assert_eq!(fuse(Fusion::default(), 8, &[(4, 1.0)], &[]).len(), 1);
        assert_eq!(fuse(Fusion::default(), 8, &[], &[(4, 0.3)]).len(), 1);
    }
}
