//! The immutable search index and its query path.

use std::cmp::Ordering;

use super::bm25::{Bm25, Field, FieldText};
use super::fusion::{Fusion, fuse};
use super::summary::{IndexSummary, summarize};
use super::text::{humanize, schema_params};
use super::vector::VectorIndex;
use super::{SearchDocument, SearchHit, SearchMode, SearchQuery};

/// What the index keeps per tool; documents are sorted by exposed name, so a document id
/// order is also name order and breaks score ties deterministically.
#[derive(Debug)]
pub(super) struct DocMeta {
    pub(super) exposed_name: String,
    pub(super) target: String,
}

/// Search index over one catalog version. Immutable, `Send + Sync`; rebuild it when the
/// catalog changes.
#[derive(Debug)]
pub struct SearchIndex {
    docs: Vec<DocMeta>,
    lexical: Bm25,
    vectors: VectorIndex,
    fusion: Fusion,
}

impl SearchIndex {
    /// Builds the index with the default [`Fusion`].
    ///
    /// Documents are deduplicated by exposed name (the first occurrence wins; the catalog
    /// is expected to have rejected collisions already).
    pub fn build(docs: Vec<SearchDocument>) -> Self {
        Self::build_with(docs, Fusion::default())
    }

    /// Builds the index with an explicit fusion method (used by the evaluation).
    pub fn build_with(mut docs: Vec<SearchDocument>, fusion: Fusion) -> Self {
        // Stable sort keeps the first of duplicate names first, then dedup keeps it.
        docs.sort_by(|a, b| a.exposed_name.cmp(&b.exposed_name));
        docs.dedup_by(|later, first| later.exposed_name == first.exposed_name);

        let texts: Vec<FieldText> = docs.iter().map(field_text).collect();
        let lexical = Bm25::build(&texts);
        let with_vectors: Vec<(u32, &[f32])> = docs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| Some((doc_id(i), d.embedding.as_deref()?)))
            .collect();
        let vectors = VectorIndex::build(&with_vectors);
        let docs = docs
            .into_iter()
            .map(|d| DocMeta {
                exposed_name: d.exposed_name,
                target: d.target,
            })
            .collect();
        Self {
            docs,
            lexical,
            vectors,
            fusion,
        }
    }

    /// True when tools carry embeddings, so vector and hybrid search can run given a query
    /// embedding of [`SearchIndex::dimensions`]. When false, every mode answers lexically.
    pub fn has_vectors(&self) -> bool {
        !self.vectors.is_empty()
    }

    /// Embedding dimension of the indexed tools (0 without vectors).
    pub fn dimensions(&self) -> usize {
        self.vectors.dim()
    }

    /// Number of indexed tools.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when no tool is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The mode a query will actually run with: vector and hybrid degrade to lexical when
    /// the index has no vectors or the query embedding is missing or does not fit.
    pub fn effective_mode(
        &self,
        requested: SearchMode,
        query_embedding: Option<&[f32]>,
    ) -> SearchMode {
        let usable =
            self.has_vectors() && query_embedding.is_some_and(|q| q.len() == self.vectors.dim());
        if usable {
            requested
        } else {
            SearchMode::Lexical
        }
    }

    /// Ranks the tools for `q`.
    ///
    /// `may_see(exposed_name)` is the caller's authorization check. It is applied, together
    /// with the target filter, before ranking and before the `limit` cut-off, so a hidden
    /// tool never appears, never takes a slot, and never shifts a fused rank.
    pub fn search(
        &self,
        q: &SearchQuery,
        query_embedding: Option<&[f32]>,
        may_see: &dyn Fn(&str) -> bool,
    ) -> Vec<SearchHit> {
        if q.limit == 0 || q.text.trim().is_empty() || self.docs.is_empty() {
            return Vec::new();
        }
        let mut visible = Visibility::new(self, q.targets, may_see);
        let scored = match self.effective_mode(q.mode, query_embedding) {
            SearchMode::Lexical => self.lexical_candidates(q.text, &mut visible),
            SearchMode::Vector => self.vector_candidates(query_embedding, &mut visible),
            SearchMode::Hybrid => {
                let lex = self.lexical_candidates(q.text, &mut visible);
                let vec = self.vector_candidates(query_embedding, &mut visible);
                fuse(self.fusion, self.docs.len(), &lex, &vec)
            }
        };
        self.top(scored, q.limit)
    }

    fn lexical_candidates(&self, text: &str, visible: &mut Visibility) -> Vec<(u32, f32)> {
        let mut scored = self.lexical.score(text);
        scored.retain(|(d, _)| visible.check(*d));
        scored
    }

    fn vector_candidates(
        &self,
        query_embedding: Option<&[f32]>,
        visible: &mut Visibility,
    ) -> Vec<(u32, f32)> {
        let mut scored = query_embedding
            .and_then(|e| self.vectors.score(e))
            .unwrap_or_default();
        scored.retain(|(d, _)| visible.check(*d));
        scored
    }

    /// Targets with tool counts and keywords, for the search tool's description.
    pub fn summary(&self) -> IndexSummary {
        summarize(&self.docs, self.has_vectors())
    }

    fn top(&self, mut scored: Vec<(u32, f32)>, limit: usize) -> Vec<SearchHit> {
        // Score descending, then document id (= exposed name) ascending.
        let order = |a: &(u32, f32), b: &(u32, f32)| -> Ordering {
            b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
        };
        if scored.len() > limit {
            scored.select_nth_unstable_by(limit - 1, order);
            scored.truncate(limit);
        }
        scored.sort_by(order);
        scored
            .into_iter()
            .filter_map(|(d, score)| {
                let doc = self.docs.get(d as usize)?;
                Some(SearchHit {
                    exposed_name: doc.exposed_name.clone(),
                    score,
                })
            })
            .collect()
    }
}

/// Memoized "target filter and may_see" per document: each check runs at most once per
/// query even when both rankings consult it.
struct Visibility<'a> {
    index: &'a SearchIndex,
    targets: Option<&'a [String]>,
    may_see: &'a dyn Fn(&str) -> bool,
    /// 0 = not checked yet, 1 = visible, 2 = hidden.
    memo: Vec<u8>,
}

impl<'a> Visibility<'a> {
    fn new(
        index: &'a SearchIndex,
        targets: Option<&'a [String]>,
        may_see: &'a dyn Fn(&str) -> bool,
    ) -> Self {
        let targets = targets.filter(|t| !t.is_empty());
        Self {
            index,
            targets,
            may_see,
            memo: vec![0; index.docs.len()],
        }
    }

    fn check(&mut self, doc: u32) -> bool {
        let i = doc as usize;
        match self.memo.get(i) {
            Some(1) => return true,
            Some(0) => {}
            _ => return false,
        }
        let Some(meta) = self.index.docs.get(i) else {
            return false;
        };
        let in_target = self.targets.is_none_or(|t| t.contains(&meta.target));
        let ok = in_target && (self.may_see)(&meta.exposed_name);
        self.memo[i] = if ok { 1 } else { 2 };
        ok
    }
}

fn doc_id(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Splits a tool into BM25 fields. The name is also humanized so `getItem` matches "item".
fn field_text(doc: &SearchDocument) -> FieldText {
    let mut t = FieldText::default();
    t.push(Field::Name, &humanize(&doc.exposed_name));
    if let Some(title) = &doc.title {
        t.push(Field::Name, title);
    }
    t.push(Field::Description, &doc.description);
    for p in schema_params(&doc.input_schema) {
        t.push(Field::Params, &humanize(&p.name));
        t.push(Field::Params, &p.description);
    }
    t
}
