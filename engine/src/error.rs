//! Why a filter cannot be loaded. Every variant names the problem.

use crate::config::ConfigError;
use alloc::string::String;
use core::fmt;

/// A filter was refused at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The module is larger than the limit.
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The bytes are not a WebAssembly module (no `\0asm` header, or a component).
    NotWasm,
    /// The module cannot be decoded.
    Malformed(String),
    /// The module is not valid WebAssembly (the specification's validation
    /// rules, for the feature set of the ABI), or wasmi refused to compile
    /// it on [`crate::Tier::Wasmi`].
    Invalid(String),
    /// A valid module using a construct the fast tier does not run (named).
    /// Every host refuses it; only an explicit [`crate::Tier::Wasmi`] (tests,
    /// benchmarks, the fuzzer) runs it elsewhere.
    Unsupported(&'static str),
    /// [`crate::Tier::Wasmi`] was asked for in a build without it (the
    /// kernel's).
    NoWasmi,
    /// An import outside the ABI.
    UnknownImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// A memory, table or global import: the ABI imports only functions.
    ImportKind {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// An ABI import with the wrong signature.
    ImportType {
        /// The import's name.
        name: String,
        /// The ABI's signature.
        expected: &'static str,
        /// The module's signature.
        found: String,
    },
    /// A required export is missing.
    MissingExport(&'static str),
    /// An export of the ABI has the wrong kind or signature.
    ExportType {
        /// The export's name.
        name: &'static str,
        /// The ABI's signature.
        expected: &'static str,
        /// The module's.
        found: String,
    },
    /// A float instruction.
    Float {
        /// Its name in Wasm text form, e.g. `f64.add`.
        instruction: String,
        /// Index of the function using it.
        func: u32,
    },
    /// A float value type in a signature, local or global.
    FloatType {
        /// `f32` or `f64`.
        ty: &'static str,
        /// Where it was found.
        place: String,
    },
    /// A SIMD (`v128`) value type.
    Simd(String),
    /// A start function: the ABI runs `init` instead.
    StartFunction,
    /// A memory the ABI does not allow.
    Memory(String),
    /// A table over the limit.
    Table(String),
    /// A bad `wasmnf_window` export.
    Window(String),
    /// The load options are out of range.
    Options(String),
    /// The configuration was refused.
    Config(ConfigError),
    /// Instantiation failed.
    Instantiate(String),
    /// `init` returned non-zero.
    Init {
        /// The value `init` returned.
        code: i32,
        /// The message the filter gave with `set_error`, if any.
        message: Option<String>,
    },
    /// `init` trapped or ran out of fuel.
    InitTrap(String),
    /// The engine could not allocate an instance's memory or stacks.
    NoMemory,
    /// The filter's map declarations were refused, or its maps could not
    /// be allocated.
    Map(crate::maps::MapError),
}

impl LoadError {
    /// The refusal's class as the C interface carries it
    /// ([`wasmnf_common::ffi::refusal`]): a bad filter, a construct the
    /// engine does not run, a host limit, the configuration, `init`, or
    /// memory. The kernel module answers each with its own errno.
    pub fn code(&self) -> u32 {
        use wasmnf_common::ffi::refusal;
        match self {
            LoadError::NotWasm
            | LoadError::Malformed(_)
            | LoadError::Invalid(_)
            | LoadError::UnknownImport { .. }
            | LoadError::ImportKind { .. }
            | LoadError::ImportType { .. }
            | LoadError::MissingExport(_)
            | LoadError::ExportType { .. }
            | LoadError::Float { .. }
            | LoadError::FloatType { .. }
            | LoadError::Simd(_)
            | LoadError::StartFunction
            | LoadError::Window(_)
            | LoadError::Instantiate(_) => refusal::INVALID,
            LoadError::Unsupported(_) | LoadError::NoWasmi => refusal::UNSUPPORTED,
            LoadError::TooLarge { .. }
            | LoadError::Memory(_)
            | LoadError::Table(_)
            | LoadError::Options(_) => refusal::LIMIT,
            LoadError::Config(_) => refusal::CONFIG,
            LoadError::Init { .. } | LoadError::InitTrap(_) => refusal::INIT,
            LoadError::NoMemory => refusal::NO_MEMORY,
            LoadError::Map(crate::maps::MapError::Decl(..)) => refusal::INVALID,
            LoadError::Map(crate::maps::MapError::OverLimit { .. }) => refusal::LIMIT,
            LoadError::Map(crate::maps::MapError::NoMemory(_)) => refusal::NO_MEMORY,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::TooLarge { size, limit } => {
                write!(f, "module is {size} bytes; the limit is {limit} bytes")
            }
            LoadError::NotWasm => f.write_str("not a WebAssembly module (bad magic or version)"),
            LoadError::Malformed(m) => write!(f, "malformed WebAssembly module: {m}"),
            LoadError::Invalid(m) => write!(f, "invalid WebAssembly module: {m}"),
            LoadError::Unsupported(what) => write!(
                f,
                "the engine does not run {what}: valid WebAssembly, but outside \
                 what wasmnf runs (docs/abi.md, \"Engines\")"
            ),
            LoadError::NoWasmi => {
                f.write_str("this build of the engine has no wasmi tier (the kernel's has none)")
            }
            LoadError::UnknownImport { module, name } => {
                write!(f, "import `{module}.{name}` is not part of the wasmnf ABI")
            }
            LoadError::ImportKind { module, name } => write!(
                f,
                "import `{module}.{name}` is not a function; the wasmnf ABI imports only functions"
            ),
            LoadError::ImportType {
                name,
                expected,
                found,
            } => write!(
                f,
                "import `wasmnf.{name}` must have type {expected}, found {found}"
            ),
            LoadError::MissingExport(name) => {
                write!(f, "the module does not export `{name}`")
            }
            LoadError::ExportType {
                name,
                expected,
                found,
            } => write!(f, "`{name}` must have type {expected}, found {found}"),
            LoadError::Float { instruction, func } => write!(
                f,
                "float instruction `{instruction}` is not allowed (function {func})"
            ),
            LoadError::FloatType { ty, place } => {
                write!(f, "float type `{ty}` is not allowed (in {place})")
            }
            LoadError::Simd(place) => write!(f, "SIMD type `v128` is not allowed (in {place})"),
            LoadError::StartFunction => {
                f.write_str("a start function is not allowed; export `init` for set-up instead")
            }
            LoadError::Memory(m) => write!(f, "memory: {m}"),
            LoadError::Table(m) => write!(f, "table: {m}"),
            LoadError::Window(m) => write!(f, "window: {m}"),
            LoadError::Options(m) => write!(f, "load options: {m}"),
            LoadError::Config(e) => write!(f, "{e}"),
            LoadError::Instantiate(m) => write!(f, "instantiation failed: {m}"),
            LoadError::Init {
                code,
                message: Some(m),
            } => write!(f, "filter init failed ({code}): {m}"),
            LoadError::Init {
                code,
                message: None,
            } => write!(f, "filter init failed with code {code}"),
            LoadError::InitTrap(m) => write!(f, "filter init trapped: {m}"),
            LoadError::NoMemory => f.write_str("out of memory for the filter's instance"),
            LoadError::Map(e) => write!(f, "maps: {e}"),
        }
    }
}

impl From<ConfigError> for LoadError {
    fn from(e: ConfigError) -> Self {
        LoadError::Config(e)
    }
}
