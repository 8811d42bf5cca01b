//! Load-time configuration: `key=value` pairs handed to a filter, so one
//! compiled filter serves many rules (`drop_port` with `port=8080`).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Most entries a configuration may hold.
pub const MAX_ENTRIES: usize = 64;
/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest value, in bytes.
pub const MAX_VALUE_LEN: usize = 4096;

/// Why a configuration was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// An entry has no `=`.
    MissingEquals(String),
    /// A key is empty, too long, or has a character outside `[A-Za-z0-9_.-]`.
    BadKey(String),
    /// A value is too long or holds a newline or NUL.
    BadValue(String),
    /// The same key appears twice.
    Duplicate(String),
    /// More than [`MAX_ENTRIES`] entries.
    TooMany,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingEquals(e) => {
                write!(f, "config entry `{e}` is not of the form key=value")
            }
            ConfigError::BadKey(k) => write!(
                f,
                "config key `{k}` must be 1-{MAX_KEY_LEN} characters of [A-Za-z0-9_.-]"
            ),
            ConfigError::BadValue(k) => write!(
                f,
                "config value of `{k}` must be at most {MAX_VALUE_LEN} bytes without newline or NUL"
            ),
            ConfigError::Duplicate(k) => write!(f, "config key `{k}` is given twice"),
            ConfigError::TooMany => write!(f, "more than {MAX_ENTRIES} config entries"),
        }
    }
}

/// A validated configuration: unique keys, bounded sizes, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterConfig {
    entries: Vec<(String, String)>,
}

impl FilterConfig {
    /// Builds a configuration from `key=value` entries.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ConfigError> {
        let mut config = FilterConfig::default();
        for entry in entries {
            let (key, value) = entry
                .split_once('=')
                .ok_or_else(|| ConfigError::MissingEquals(entry.into()))?;
            config.insert(key, value)?;
        }
        Ok(config)
    }

    /// Decodes the wire form produced by [`FilterConfig::encode`]: entries
    /// separated by newlines. Empty input is the empty configuration.
    pub fn decode(bytes: &[u8]) -> Result<Self, ConfigError> {
        let text = core::str::from_utf8(bytes)
            .map_err(|_| ConfigError::BadValue(String::from("<not UTF-8>")))?;
        Self::from_entries(text.split('\n').filter(|e| !e.is_empty()))
    }

    /// The wire form: `key=value` entries separated by newlines.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        out
    }

    fn insert(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let key_ok = !key.is_empty()
            && key.len() <= MAX_KEY_LEN
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !key_ok {
            return Err(ConfigError::BadKey(key.into()));
        }
        if value.len() > MAX_VALUE_LEN || value.bytes().any(|b| b == b'\n' || b == 0) {
            return Err(ConfigError::BadValue(key.into()));
        }
        if self.get(key).is_some() {
            return Err(ConfigError::Duplicate(key.into()));
        }
        if self.entries.len() == MAX_ENTRIES {
            return Err(ConfigError::TooMany);
        }
        self.entries.push((key.into(), value.into()));
        Ok(())
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_bytes(key.as_bytes())
    }

    /// The value of the key spelled by `key`, if set.
    pub fn get_bytes(&self, key: &[u8]) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_bytes() == key)
            .map(|(_, v)| v.as_str())
    }

    /// The entries in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        let c = FilterConfig::from_entries(["port=8080", "cidrs=10.0.0.0/8,::1/128"]).unwrap();
        assert_eq!(c.get("port"), Some("8080"));
        assert_eq!(c.get("cidrs"), Some("10.0.0.0/8,::1/128"));
        assert_eq!(FilterConfig::decode(c.encode().as_bytes()).unwrap(), c);
        assert_eq!(
            FilterConfig::from_entries(["port"]),
            Err(ConfigError::MissingEquals("port".into()))
        );
        assert_eq!(
            FilterConfig::from_entries(["a=1", "a=2"]),
            Err(ConfigError::Duplicate("a".into()))
        );
        assert_eq!(
            FilterConfig::from_entries(["p rt=1"]),
            Err(ConfigError::BadKey("p rt".into()))
        );
        assert!(FilterConfig::decode(b"").unwrap().is_empty());
    }
}
