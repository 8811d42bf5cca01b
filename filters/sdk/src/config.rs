//! Load-time configuration: the `key=value` pairs given with
//! `wasmnf load ... --config key=value`. Read it in `init`.

use crate::sys;
use core::fmt::{self, Write};
use core::str::FromStr;

/// Longest value the SDK reads, in bytes (the engine allows 4096).
pub const VALUE_MAX: usize = 4096;

/// Why `init` refused the configuration; reported to whoever loads the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// A required key is not set.
    Missing(&'static str),
    /// A key's value does not parse.
    Invalid(&'static str),
    /// Any other reason, in the filter's words.
    Message(&'static str),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Missing(k) => write!(f, "missing config `{k}` (give --config {k}=...)"),
            InitError::Invalid(k) => write!(f, "config `{k}` has an invalid value"),
            InitError::Message(m) => f.write_str(m),
        }
    }
}

impl InitError {
    pub(crate) fn report(&self) {
        let mut buf = Buf {
            bytes: [0; 128],
            len: 0,
        };
        let _ = write!(buf, "{self}");
        sys::report_error(&buf.bytes[..buf.len]);
    }
}

struct Buf {
    bytes: [u8; 128],
    len: usize,
}

impl Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Runs `f` on the value of `key`, if set. Values longer than [`VALUE_MAX`]
/// or not UTF-8 are [`InitError::Invalid`].
pub fn with<R>(key: &'static str, f: impl FnOnce(&str) -> R) -> Result<Option<R>, InitError> {
    let mut buf = [0u8; VALUE_MAX];
    let Some(len) = sys::config_value(key, &mut buf) else {
        return Ok(None);
    };
    let value = buf
        .get(..len)
        .and_then(|b| core::str::from_utf8(b).ok())
        .ok_or(InitError::Invalid(key))?;
    Ok(Some(f(value)))
}

/// Runs `f` on each item of `key`'s comma-separated list, parsed as `T`
/// (items trimmed, empty ones skipped; one that does not parse is
/// [`InitError::Invalid`]); whether `key` was set. `f` may refuse an item
/// with its own error (a full list, say).
pub fn each<T: FromStr>(
    key: &'static str,
    mut f: impl FnMut(T) -> Result<(), InitError>,
) -> Result<bool, InitError> {
    let done = with(key, |value| {
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            f(item.parse().map_err(|_| InitError::Invalid(key))?)?;
        }
        Ok(())
    })?;
    Ok(done.transpose()?.is_some())
}

/// The value of `key` parsed as `T`, or `None` if it is not set.
pub fn get<T: FromStr>(key: &'static str) -> Result<Option<T>, InitError> {
    match with(key, |v| v.trim().parse::<T>())? {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(_)) => Err(InitError::Invalid(key)),
    }
}

/// The value of `key` parsed as `T`; an error if it is missing.
pub fn require<T: FromStr>(key: &'static str) -> Result<T, InitError> {
    get(key)?.ok_or(InitError::Missing(key))
}

/// Which of `choices` the value of `key` is (its index), or `default` if
/// the key is not set; any other value is [`InitError::Invalid`].
pub fn one_of(key: &'static str, choices: &[&str], default: usize) -> Result<usize, InitError> {
    match with(key, |v| choices.iter().position(|c| *c == v))? {
        None => Ok(default),
        Some(Some(i)) => Ok(i),
        Some(None) => Err(InitError::Invalid(key)),
    }
}

/// The value of `key` parsed as `T`, or `default` if it is not set.
pub fn get_or<T: FromStr>(key: &'static str, default: T) -> Result<T, InitError> {
    Ok(get(key)?.unwrap_or(default))
}
