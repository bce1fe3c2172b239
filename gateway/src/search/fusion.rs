//! Combining the lexical and vector rankings into one.

use std::collections::HashMap;

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

/// Fuses `(doc, score)` lists. `lexical` holds only documents with a positive BM25 score;
/// `vector` holds every candidate with an embedding. Output order is unspecified.
pub fn fuse(fusion: Fusion, lexical: &[(u32, f32)], vector: &[(u32, f32)]) -> Vec<(u32, f32)> {
    match fusion {
        Fusion::Rrf { k } => rrf(k.max(0.0), lexical, vector),
        Fusion::Convex { lexical_weight } => {
            convex(lexical_weight.clamp(0.0, 1.0), lexical, vector)
        }
    }
}

fn rrf(k: f32, lexical: &[(u32, f32)], vector: &[(u32, f32)]) -> Vec<(u32, f32)> {
    let mut acc: HashMap<u32, f32> = HashMap::new();
    for list in [lexical, vector] {
        for (rank, (doc, _)) in ranked(list).into_iter().enumerate() {
            *acc.entry(doc).or_default() += 1.0 / (k + rank as f32 + 1.0);
        }
    }
    acc.into_iter().collect()
}

fn convex(w: f32, lexical: &[(u32, f32)], vector: &[(u32, f32)]) -> Vec<(u32, f32)> {
    let mut acc: HashMap<u32, f32> = HashMap::new();
    let max_lex = lexical.iter().map(|(_, s)| *s).fold(0.0f32, f32::max);
    if max_lex > 0.0 {
        for (doc, s) in lexical {
            *acc.entry(*doc).or_default() += w * s / max_lex;
        }
    }
    let (min_v, max_v) = vector
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, s)| {
            (lo.min(*s), hi.max(*s))
        });
    let span = max_v - min_v;
    for (doc, s) in vector {
        let scaled = if span > f32::EPSILON {
            (s - min_v) / span
        } else {
            1.0
        };
        *acc.entry(*doc).or_default() += (1.0 - w) * scaled;
    }
    acc.into_iter().collect()
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
        assert_eq!(top(fuse(Fusion::Rrf { k: 60.0 }, &lex, &vec)), 2);
    }

    #[test]
    fn convex_keeps_confidence() {
        let lex = [(1, 10.0), (2, 1.0)];
        let vec = [(2, 0.50), (1, 0.49), (3, 0.1)];
        assert_eq!(
            top(fuse(
                Fusion::Convex {
                    lexical_weight: 0.5
                },
                &lex,
                &vec
            )),
            1
        );
        assert_eq!(
            top(fuse(
                Fusion::Convex {
                    lexical_weight: 0.0
                },
                &lex,
                &vec
            )),
            2
        );
    }

    #[test]
    fn handles_empty_inputs() {
        assert!(fuse(Fusion::default(), &[], &[]).is_empty());
        assert_eq!(fuse(Fusion::default(), &[(4, 1.0)], &[]).len(), 1);
        assert_eq!(fuse(Fusion::default(), &[], &[(4, 0.3)]).len(), 1);
    }
}
