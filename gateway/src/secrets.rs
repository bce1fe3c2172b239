//! Secret values and where they come from.
//!
//! In a cluster the operator mounts every Secret the gateway needs as a projected volume,
//! one directory per Secret and one file per key (`<dir>/<secret-name>/<key>`); the
//! gateway never talks to the Kubernetes API. [`DirSecretSource`] reads that layout and
//! notices when the kubelet swaps in a rotated Secret. Local mode reads `kind: Secret`
//! manifests into a [`MemorySecretSource`].
//!
//! A [`SecretValue`] never prints its content, and a [`SecretError`] names the Secret and
//! key but never the value, so both are safe in logs, statuses and client-facing errors.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Kubernetes caps a Secret at 1 MiB; anything larger in the mount is not a Secret we made.
const MAX_SECRET_BYTES: u64 = 1024 * 1024;

/// A reference to one key of a Secret in the object's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret's `data`.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A reference to a Secret whose key has a documented default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret; the owning field documents the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Text read from a Secret. `Debug` and `Display` print `<redacted>`, never the content.
#[derive(Clone)]
pub struct SecretValue(Arc<str>);

impl SecretValue {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::from(value.into()))
    }

    /// The secret text. Call this only where the value leaves the process for its purpose
    /// (an HTTP header, a token request), never to log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether both values come from the same read (a cheap "unchanged since" test: sources
    /// hand out the same value until the underlying Secret changes).
    pub fn same_read(&self, other: &SecretValue) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a secret could not be read. Names the Secret and key, never the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The Secret or the key is absent.
    #[error("Secret {name:?} has no key {key:?} (is the Secret created and mounted?)")]
    NotFound {
        /// Secret name.
        name: String,
        /// Key in the Secret.
        key: String,
    },
    /// The name or key is not a valid Kubernetes Secret name/key (and could escape the mount).
    #[error("invalid Secret reference {name:?}/{key:?}")]
    InvalidReference {
        /// Secret name as given.
        name: String,
        /// Key as given.
        key: String,
    },
    /// The file exists but could not be read.
    #[error("Secret {name:?} key {key:?} could not be read: {kind}")]
    Unreadable {
        /// Secret name.
        name: String,
        /// Key in the Secret.
        key: String,
        /// The I/O error kind (never contains file content).
        kind: io::ErrorKind,
    },
    /// The value is not UTF-8 text, or too large to be a Secret.
    #[error("Secret {name:?} key {key:?} is not a text value")]
    NotText {
        /// Secret name.
        name: String,
        /// Key in the Secret.
        key: String,
    },
    /// A `kind: Secret` manifest could not be understood.
    #[error("Secret manifest {name:?} is invalid: {reason}")]
    InvalidManifest {
        /// Secret name, or empty if it has none.
        name: String,
        /// What is wrong (never a value).
        reason: String,
    },
}

impl SecretError {
    fn not_found(name: &str, key: &str) -> Self {
        Self::NotFound {
            name: name.to_owned(),
            key: key.to_owned(),
        }
    }

    fn not_text(name: &str, key: &str) -> Self {
        Self::NotText {
            name: name.to_owned(),
            key: key.to_owned(),
        }
    }
}

/// Somewhere secrets can be read from, by Secret name and key.
pub trait SecretSource: Send + Sync {
    /// Reads the current value of `key` in Secret `name`. Callers read on every use
    /// (implementations cache) so rotated Secrets apply without a restart.
    fn read(&self, name: &str, key: &str) -> Result<SecretValue, SecretError>;
}

/// Secrets mounted as files at `<dir>/<secret-name>/<key>`, as a Kubernetes projected volume
/// lays them out.
///
/// Each read costs one `stat`: the kubelet rotates a Secret by atomically repointing the
/// `..data` symlink at a new timestamped directory, which changes the inode and mtime the
/// path resolves to, so a changed stamp means re-read and an unchanged one means cache hit.
#[derive(Debug)]
pub struct DirSecretSource {
    root: PathBuf,
    cache: Mutex<HashMap<(String, String), CachedFile>>,
}

#[derive(Debug)]
struct CachedFile {
    stamp: FileStamp,
    value: SecretValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl FileStamp {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
        }
    }
}

impl DirSecretSource {
    /// Reads Secrets below `root` (e.g. `/var/run/switchboard/secrets`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The directory Secrets are read from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, path: &Path, name: &str, key: &str) -> Result<CachedFile, SecretError> {
        let map_io = |e: io::Error| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
                SecretError::not_found(name, key)
            }
            kind => SecretError::Unreadable {
                name: name.to_owned(),
                key: key.to_owned(),
                kind,
            },
        };
        let file = fs::File::open(path).map_err(map_io)?;
        let meta = file.metadata().map_err(map_io)?;
        if !meta.is_file() {
            return Err(SecretError::not_found(name, key));
        }
        let mut bytes = Vec::new();
        file.take(MAX_SECRET_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(map_io)?;
        if bytes.len() as u64 > MAX_SECRET_BYTES {
            return Err(SecretError::not_text(name, key));
        }
        let text = String::from_utf8(bytes).map_err(|_| SecretError::not_text(name, key))?;
        Ok(CachedFile {
            stamp: FileStamp::of(&meta),
            value: SecretValue::new(trim_line_end(text)),
        })
    }
}

impl SecretSource for DirSecretSource {
    fn read(&self, name: &str, key: &str) -> Result<SecretValue, SecretError> {
        check_reference(name, key)?;
        let path = self.root.join(name).join(key);
        // Follows the symlinks, so a swapped `..data` shows up as a different inode.
        let stamp = match fs::metadata(&path) {
            Ok(meta) => FileStamp::of(&meta),
            Err(_) => {
                // Drop a stale cached value: a deleted Secret must stop working.
                if let Ok(mut cache) = self.cache.lock() {
                    cache.remove(&(name.to_owned(), key.to_owned()));
                }
                return self.read_file(&path, name, key).map(|c| c.value);
            }
        };
        let cache_key = (name.to_owned(), key.to_owned());
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(&cache_key)
            && hit.stamp == stamp
        {
            return Ok(hit.value.clone());
        }
        let fresh = self.read_file(&path, name, key)?;
        let value = fresh.value.clone();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(cache_key, fresh);
        }
        Ok(value)
    }
}

/// Secrets held in memory: local mode loads them from `kind: Secret` manifests, and tests
/// insert them directly.
#[derive(Debug, Default)]
pub struct MemorySecretSource {
    secrets: RwLock<HashMap<String, HashMap<String, SecretValue>>>,
}

impl MemorySecretSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) one key of one Secret.
    pub fn insert(&self, name: &str, key: &str, value: impl Into<String>) {
        if let Ok(mut secrets) = self.secrets.write() {
            secrets
                .entry(name.to_owned())
                .or_default()
                .insert(key.to_owned(), SecretValue::new(value));
        }
    }

    /// Removes a whole Secret.
    pub fn remove(&self, name: &str) {
        if let Ok(mut secrets) = self.secrets.write() {
            secrets.remove(name);
        }
    }

    /// Loads every `kind: Secret` document of a multi-document YAML string, replacing
    /// Secrets of the same name; other kinds are ignored. Returns the Secret names loaded.
    pub fn load_yaml(&self, yaml: &str) -> Result<Vec<String>, SecretError> {
        let mut loaded = Vec::new();
        for document in serde_yaml::Deserializer::from_str(yaml) {
            let value = serde_json::Value::deserialize(document).map_err(|e| {
                SecretError::InvalidManifest {
                    name: String::new(),
                    // serde_yaml reports positions, not content, for syntax errors.
                    reason: e.to_string(),
                }
            })?;
            if let Some(name) = self.load_manifest(&value)? {
                loaded.push(name);
            }
        }
        Ok(loaded)
    }

    /// Loads one manifest if it is a `kind: Secret` (`data` is base64, `stringData` is
    /// text and wins on conflicts, as in Kubernetes). Returns its name, or `None` for
    /// other kinds.
    pub fn load_manifest(
        &self,
        manifest: &serde_json::Value,
    ) -> Result<Option<String>, SecretError> {
        if manifest.get("kind").and_then(|k| k.as_str()) != Some("Secret") {
            return Ok(None);
        }
        let name = manifest
            .pointer("/metadata/name")
            .and_then(|n| n.as_str())
            .ok_or_else(|| SecretError::InvalidManifest {
                name: String::new(),
                reason: "metadata.name is missing".to_owned(),
            })?
            .to_owned();
        let invalid = |reason: String| SecretError::InvalidManifest {
            name: name.clone(),
            reason,
        };
        let mut keys = HashMap::new();
        if let Some(data) = manifest.get("data").and_then(|d| d.as_object()) {
            for (key, encoded) in data {
                let encoded = encoded
                    .as_str()
                    .ok_or_else(|| invalid(format!("data.{key} is not a string")))?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| invalid(format!("data.{key} is not valid base64")))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| invalid(format!("data.{key} is not UTF-8 text")))?;
                keys.insert(key.clone(), SecretValue::new(trim_line_end(text)));
            }
        }
        if let Some(data) = manifest.get("stringData").and_then(|d| d.as_object()) {
            for (key, text) in data {
                let text = text
                    .as_str()
                    .ok_or_else(|| invalid(format!("stringData.{key} is not a string")))?;
                keys.insert(
                    key.clone(),
                    SecretValue::new(trim_line_end(text.to_owned())),
                );
            }
        }
        if let Ok(mut secrets) = self.secrets.write() {
            secrets.insert(name.clone(), keys);
        }
        Ok(Some(name))
    }
}

impl SecretSource for MemorySecretSource {
    fn read(&self, name: &str, key: &str) -> Result<SecretValue, SecretError> {
        self.secrets
            .read()
            .ok()
            .and_then(|secrets| secrets.get(name)?.get(key).cloned())
            .ok_or_else(|| SecretError::not_found(name, key))
    }
}

/// Secret files written by hand (`echo token > file`, `kubectl create secret --from-file`)
/// usually end with a newline that is not part of the credential.
fn trim_line_end(mut text: String) -> String {
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    text
}

/// Rejects anything that is not a Kubernetes Secret name / data key, which also keeps a
/// reference from escaping the mount directory (`..`, `/`) or reading kubelet internals
/// (`..data`).
fn check_reference(name: &str, key: &str) -> Result<(), SecretError> {
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let key_ok = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && !key.starts_with("..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if name_ok && key_ok {
        Ok(())
    } else {
        Err(SecretError::InvalidReference {
            name: name.to_owned(),
            key: key.to_owned(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn value_is_redacted_in_debug_and_display() {
        let v = SecretValue::new("hunter2");
        assert_eq!(format!("{v:?}"), "SecretValue(<redacted>)");
        assert_eq!(format!("{v}"), "<redacted>");
        assert_eq!(v.expose(), "hunter2");
    }

    #[test]
    fn references_cannot_escape_the_mount() {
        for (name, key) in [
            ("..", "k"),
            ("a/b", "k"),
            ("s", "../etc"),
            ("s", "..data"),
            ("s", "a/b"),
            ("", "k"),
            ("s", ""),
            ("Upper", "k"),
        ] {
            assert!(check_reference(name, key).is_err(), "{name}/{key}");
        }
        assert!(check_reference("my-secret.v1", "client_secret.txt").is_ok());
    }

    #[test]
    fn manifests_load_data_and_string_data() {
        let source = MemorySecretSource::new();
        let names = source
            .load_yaml(
                "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: aGVsbG8K}\n\
                 stringData: {b: world}\n---\nkind: ConfigMap\nmetadata: {name: c}\n",
            )
            .unwrap();
        assert_eq!(names, ["s"]);
        assert_eq!(source.read("s", "a").unwrap().expose(), "hello");
        assert_eq!(source.read("s", "b").unwrap().expose(), "world");
        let err = source.read("s", "c").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Secret \"s\" has no key \"c\" (is the Secret created and mounted?)"
        );
    }

    #[test]
    fn bad_base64_names_the_key_not_the_value() {
        let source = MemorySecretSource::new();
        let err = source
            .load_yaml("kind: Secret\nmetadata: {name: s}\ndata: {a: 'not base64 sekrit!'}\n")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("data.a"), "{text}");
        assert!(!text.contains("sekrit"), "{text}");
    }
}
