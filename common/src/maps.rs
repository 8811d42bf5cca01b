//! Maps: key-value state a filter declares in its module and the host
//! implements natively (ABI version 2; `map_lookup_pkt`, version 3: `docs/abi.md` "Maps").
//!
//! A filter declares each map with one 64-byte record in the custom section
//! [`SECTION`]; records from several objects are concatenated by the linker,
//! so each carries its own id (the number the map imports take). The SDK
//! writes the records ([`Decl::encode`], a `const fn`); the engine reads
//! them ([`Decl::decode`]) and refuses any that break the rules below; the
//! CLI prints and parses keys and values by the declared [`ty`]pes.

/// The custom section holding the declarations.
pub const SECTION: &str = "wasmnf.maps";
/// Size of one declaration record.
pub const RECORD_SIZE: usize = 64;
/// Longest map name; names are 1..=`NAME_MAX` characters of `[A-Za-z0-9_]`.
pub const NAME_MAX: usize = 31;
/// Most maps one filter may declare.
pub const MAPS_MAX: u32 = 64;
/// Largest key, in bytes (an `lpm` key: 4 bytes of prefix length and at most
/// [`LPM_DATA_MAX`] bytes of address).
pub const KEY_SIZE_MAX: u32 = 64;
/// Largest address part of an `lpm` key, in bytes (IPv6).
pub const LPM_DATA_MAX: u32 = 16;
/// Largest value, in bytes.
pub const VALUE_SIZE_MAX: u32 = 1024;
/// Largest capacity (`max_entries`) of one map.
pub const ENTRIES_MAX: u32 = 1 << 24;
/// Default limit on the memory of one filter's maps, in bytes.
pub const MEMORY_DEFAULT: u64 = 256 << 20;
/// Largest limit a loader may set on one filter's maps, in bytes.
pub const MEMORY_MAX: u64 = 4 << 30;

/// Byte offsets of the fields of a record (integers little-endian).
pub mod field {
    /// `u32`: the map's id, `0..n` over the filter's `n` maps.
    pub const ID: usize = 0;
    /// `u8`: the [`super::kind`].
    pub const KIND: usize = 4;
    /// `u8`: the key's [`super::ty`] (for an `lpm` map, of its address part).
    pub const KEY_TYPE: usize = 5;
    /// `u8`: the value's [`super::ty`].
    pub const VALUE_TYPE: usize = 6;
    /// `u8`: the name's length.
    pub const NAME_LEN: usize = 7;
    /// `u32`: key size in bytes.
    pub const KEY_SIZE: usize = 8;
    /// `u32`: value size in bytes.
    pub const VALUE_SIZE: usize = 12;
    /// `u32`: capacity.
    pub const MAX_ENTRIES: usize = 16;
    /// `u32`: flags, none defined (must be zero).
    pub const FLAGS: usize = 20;
    /// `[u8; 32]`: the name, zero-padded.
    pub const NAME: usize = 24;
    /// Bytes `RESERVED..64` are zero.
    pub const RESERVED: usize = 56;
}

/// Declares a module of numbered constants with their names (`ALL`) and a
/// `name` lookup.
macro_rules! named {
    ($(#[$mdoc:meta])* $m:ident { $( $(#[$doc:meta])* $name:ident = $v:literal, $text:literal; )* }) => {
        $(#[$mdoc])*
        pub mod $m {
            $( $(#[$doc])* pub const $name: u8 = $v; )*
            /// Every value with its name, in order.
            pub const ALL: &[(u8, &str)] = &[$(($v, $text)),*];
            /// The name of `v`, if it is one of these.
            pub fn name(v: u8) -> Option<&'static str> {
                ALL.iter().find(|(n, _)| *n == v).map(|(_, s)| *s)
            }
            /// Whether `v` is one of these.
            pub const fn known(v: u8) -> bool {
                let mut i = 0;
                while i < ALL.len() {
                    if ALL[i].0 == v {
                        return true;
                    }
                    i += 1;
                }
                false
            }
        }
    };
}

named! {
    /// Map kinds.
    kind {
        /// Exact-match keys in a preallocated hash table.
        HASH = 1, "hash";
        /// `u32` index below `max_entries`; every entry exists, zero-filled.
        ARRAY = 2, "array";
        /// Longest-prefix match: key = `u32` prefix length (little-endian) +
        /// address bytes (network order).
        LPM = 3, "lpm";
        /// A hash whose value is kept once per CPU.
        PERCPU_HASH = 4, "percpu_hash";
        /// An array whose value is kept once per CPU.
        PERCPU_ARRAY = 5, "percpu_array";
    }
}

named! {
    /// How keys and values are written as text (`replay --map`,
    /// `--dump-maps`, `wasmnf check`). The bytes are the same whatever the
    /// type; the type only says how to print and parse them.
    ty {
        /// Raw bytes, as hex.
        HEX = 0, "hex";
        /// Little-endian unsigned integers of 1 byte (a list if the size is
        /// larger).
        U8 = 1, "u8";
        /// ... of 2 bytes.
        U16 = 2, "u16";
        /// ... of 4 bytes.
        U32 = 3, "u32";
        /// ... of 8 bytes.
        U64 = 4, "u64";
        /// An IPv4 address (4 bytes, network order).
        IPV4 = 5, "ipv4";
        /// An IPv6 address (16 bytes, network order).
        IPV6 = 6, "ipv6";
    }
}

/// The width of one element of type `t`: 1 for bytes, 2/4/8 for integers,
/// 4/16 for addresses.
pub const fn elem_size(t: u8) -> u32 {
    match t {
        ty::U16 => 2,
        ty::U32 | ty::IPV4 => 4,
        ty::U64 => 8,
        ty::IPV6 => 16,
        _ => 1,
    }
}

/// `flags` of `map_update`.
pub mod update {
    /// Insert or replace.
    pub const ANY: i32 = 0;
    /// Insert only: an existing key is `EEXIST`.
    pub const NOEXIST: i32 = 1;
    /// Replace only: a missing key is `ENOENT`.
    pub const EXIST: i32 = 2;
}

/// What map imports return: `0` or a negative errno (as eBPF helpers do).
pub mod ret {
    /// Done (found, inserted, deleted).
    pub const OK: i32 = 0;
    /// No such key.
    pub const ENOENT: i32 = -2;
    /// The map is full (or an array index is out of range).
    pub const E2BIG: i32 = -7;
    /// The map's storage is inconsistent: a bug in wasmnf, never expected.
    /// The host reports it instead of panicking; the operation did nothing
    /// or stopped part-way.
    pub const EFAULT: i32 = -14;
    /// The key exists (`update::NOEXIST`).
    pub const EEXIST: i32 = -17;
    /// Not allowed for this kind (deleting from an array) or bad flags.
    pub const EINVAL: i32 = -22;
    /// `map_lookup_pkt`: the packet has no address of the map's family (it
    /// does not start with a complete IP header, or the map is keyed by
    /// IPv4 addresses and the packet is IPv6).
    pub const ENODATA: i32 = -61;
}

/// `map_lookup_pkt`'s arguments: which of the packet's addresses keys the
/// map (`field`), and the `value` that asks for no copy.
pub mod addr {
    /// `field`: the source address.
    pub const SRC: i32 = 0;
    /// `field`: the destination address.
    pub const DST: i32 = 1;
    /// `value`: test whether an entry holds the address and copy nothing,
    /// as an nftables set lookup does. As an address it could never hold a
    /// value (it is the last byte of the 4 GiB space), so it had no other
    /// meaning.
    pub const NO_VALUE: i32 = -1;
}

/// One map declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decl {
    /// The id the imports take.
    pub id: u32,
    /// [`kind`].
    pub kind: u8,
    /// [`ty`] of the key (of its address part for `lpm`).
    pub key_type: u8,
    /// [`ty`] of the value.
    pub value_type: u8,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// Flags (none defined).
    pub flags: u32,
    name: [u8; 32],
    name_len: u8,
}

/// Why a declaration record is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclError {
    /// The section's size is not a multiple of [`RECORD_SIZE`].
    SectionSize,
    /// More than [`MAPS_MAX`] maps.
    TooMany,
    /// A name that is empty, too long or not `[A-Za-z0-9_]`.
    Name,
    /// An unknown kind.
    Kind,
    /// An unknown key or value type, or one whose width does not divide the
    /// size.
    Type,
    /// A key size of 0, over [`KEY_SIZE_MAX`], or not what the kind needs
    /// (`array`: 4; `lpm`: 4 + 1..=[`LPM_DATA_MAX`]).
    KeySize,
    /// A value size of 0 or over [`VALUE_SIZE_MAX`].
    ValueSize,
    /// A capacity of 0 or over [`ENTRIES_MAX`].
    Entries,
    /// Flags or reserved bytes not zero.
    Reserved,
    /// Ids are not `0..n`, each once.
    Id,
    /// Two maps with one name.
    Duplicate,
}

impl DeclError {
    /// What is wrong, in words.
    pub const fn describe(self) -> &'static str {
        match self {
            DeclError::SectionSize => {
                "the wasmnf.maps section is not a whole number of 64-byte records"
            }
            DeclError::TooMany => "more than 64 maps",
            DeclError::Name => "the name must be 1-31 characters of [A-Za-z0-9_]",
            DeclError::Kind => "unknown kind (hash, array, lpm, percpu_hash, percpu_array)",
            DeclError::Type => "unknown key or value type, or one that does not divide its size",
            DeclError::KeySize => "bad key size (1-64 bytes; array: 4; lpm: 4 + 1-16)",
            DeclError::ValueSize => "bad value size (1-1024 bytes)",
            DeclError::Entries => "bad capacity (1-16777216 entries)",
            DeclError::Reserved => "flags and reserved bytes must be zero",
            DeclError::Id => {
                "map ids must be 0..n, each once (declare every map in one wasmnf_sdk::maps! block)"
            }
            DeclError::Duplicate => "two maps have this name",
        }
    }
}

const fn get_u32(b: &[u8; RECORD_SIZE], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

const fn put_u32(b: &mut [u8; RECORD_SIZE], at: usize, v: u32) {
    let v = v.to_le_bytes();
    b[at] = v[0];
    b[at + 1] = v[1];
    b[at + 2] = v[2];
    b[at + 3] = v[3];
}

/// Whether `name` is a valid map name.
pub const fn valid_name(name: &[u8]) -> bool {
    super::genl::name_of(name, NAME_MAX, b"_")
}

impl Decl {
    /// A declaration; [`Decl::check`] says whether it is valid.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        id: u32,
        name: &str,
        kind: u8,
        key_type: u8,
        key_size: u32,
        value_type: u8,
        value_size: u32,
        max_entries: u32,
    ) -> Decl {
        let mut n = [0u8; 32];
        let b = name.as_bytes();
        let mut i = 0;
        while i < b.len() && i < 32 {
            n[i] = b[i];
            i += 1;
        }
        Decl {
            id,
            kind,
            key_type,
            value_type,
            key_size,
            value_size,
            max_entries,
            flags: 0,
            name: n,
            name_len: if b.len() > 32 { 255 } else { b.len() as u8 },
        }
    }

    /// The name (empty if it is not valid UTF-8, which [`Decl::check`]
    /// refuses).
    pub fn name(&self) -> &str {
        let n = (self.name_len as usize).min(32);
        core::str::from_utf8(&self.name[..n]).unwrap_or("")
    }

    /// Whether a map declared `old` in the filter being replaced carries
    /// over, entries and all, to this declaration of the new filter: the
    /// same name, kind, key size, value size and capacity (the types may
    /// differ: they only say how to print the bytes; the id may differ).
    pub fn carries_over(&self, old: &Decl) -> bool {
        self.name() == old.name()
            && self.kind == old.kind
            && self.key_size == old.key_size
            && self.value_size == old.value_size
            && self.max_entries == old.max_entries
    }

    /// Whether the map keeps one value per CPU.
    pub const fn per_cpu(&self) -> bool {
        matches!(self.kind, kind::PERCPU_HASH | kind::PERCPU_ARRAY)
    }

    /// The record.
    pub const fn encode(&self) -> [u8; RECORD_SIZE] {
        let mut b = [0u8; RECORD_SIZE];
        put_u32(&mut b, field::ID, self.id);
        b[field::KIND] = self.kind;
        b[field::KEY_TYPE] = self.key_type;
        b[field::VALUE_TYPE] = self.value_type;
        b[field::NAME_LEN] = self.name_len;
        put_u32(&mut b, field::KEY_SIZE, self.key_size);
        put_u32(&mut b, field::VALUE_SIZE, self.value_size);
        put_u32(&mut b, field::MAX_ENTRIES, self.max_entries);
        put_u32(&mut b, field::FLAGS, self.flags);
        let mut i = 0;
        while i < 32 {
            b[field::NAME + i] = self.name[i];
            i += 1;
        }
        b
    }

    /// Reads a record and checks it ([`Decl::check`]).
    pub fn decode(b: &[u8; RECORD_SIZE]) -> Result<Decl, DeclError> {
        if b[field::RESERVED..].iter().any(|&x| x != 0) {
            return Err(DeclError::Reserved);
        }
        let mut name = [0u8; 32];
        name.copy_from_slice(&b[field::NAME..field::NAME + 32]);
        let d = Decl {
            id: get_u32(b, field::ID),
            kind: b[field::KIND],
            key_type: b[field::KEY_TYPE],
            value_type: b[field::VALUE_TYPE],
            key_size: get_u32(b, field::KEY_SIZE),
            value_size: get_u32(b, field::VALUE_SIZE),
            max_entries: get_u32(b, field::MAX_ENTRIES),
            flags: get_u32(b, field::FLAGS),
            name,
            name_len: b[field::NAME_LEN],
        };
        d.check()?;
        Ok(d)
    }

    /// The size of an `lpm` key's address part (`key_size - 4`), or 0.
    pub const fn lpm_data(&self) -> u32 {
        match self.kind {
            kind::LPM => self.key_size.saturating_sub(4),
            _ => 0,
        }
    }

    /// Whether the declaration follows the rules (not counting ids and
    /// duplicates across a filter's maps, which the engine checks).
    pub const fn check(&self) -> Result<(), DeclError> {
        let n = self.name_len as usize;
        if n > 32 {
            return Err(DeclError::Name);
        }
        let (name, pad) = self.name.split_at(n);
        if !valid_name(name) {
            return Err(DeclError::Name);
        }
        let mut i = 0;
        while i < pad.len() {
            if pad[i] != 0 {
                return Err(DeclError::Reserved);
            }
            i += 1;
        }
        if self.flags != 0 {
            return Err(DeclError::Reserved);
        }
        if !kind::known(self.kind) {
            return Err(DeclError::Kind);
        }
        if self.key_size == 0 || self.key_size > KEY_SIZE_MAX {
            return Err(DeclError::KeySize);
        }
        let key_part = match self.kind {
            kind::ARRAY | kind::PERCPU_ARRAY if self.key_size != 4 => {
                return Err(DeclError::KeySize)
            }
            kind::LPM if self.key_size < 5 || self.key_size > 4 + LPM_DATA_MAX => {
                return Err(DeclError::KeySize)
            }
            kind::LPM => self.key_size - 4,
            _ => self.key_size,
        };
        if self.value_size == 0 || self.value_size > VALUE_SIZE_MAX {
            return Err(DeclError::ValueSize);
        }
        if !ty::known(self.key_type)
            || !ty::known(self.value_type)
            || !key_part.is_multiple_of(elem_size(self.key_type))
            || !self.value_size.is_multiple_of(elem_size(self.value_type))
        {
            return Err(DeclError::Type);
        }
        if self.max_entries == 0 || self.max_entries > ENTRIES_MAX {
            return Err(DeclError::Entries);
        }
        Ok(())
    }
}

/// Every declaration in a [`SECTION`]'s contents, sorted by id, or the
/// first problem with the name of the map it is in (`None` when the section
/// itself is malformed).
pub fn decode_section(
    section: &[u8],
    out: &mut [Option<Decl>; MAPS_MAX as usize],
) -> Result<usize, (DeclError, Option<Decl>)> {
    if !section.len().is_multiple_of(RECORD_SIZE) {
        return Err((DeclError::SectionSize, None));
    }
    let n = section.len() / RECORD_SIZE;
    if n > MAPS_MAX as usize {
        return Err((DeclError::TooMany, None));
    }
    for rec in section.chunks_exact(RECORD_SIZE) {
        let mut b = [0u8; RECORD_SIZE];
        b.copy_from_slice(rec);
        let d = Decl::decode(&b).map_err(|e| (e, Some(Decl::named(&b))))?;
        let slot = out.get_mut(d.id as usize).filter(|_| (d.id as usize) < n);
        match slot {
            Some(s @ None) => *s = Some(d),
            _ => return Err((DeclError::Id, Some(d))),
        }
    }
    for (i, d) in out.iter().take(n).enumerate() {
        let Some(d) = d else { continue };
        if out.iter().take(i).flatten().any(|e| e.name() == d.name()) {
            return Err((DeclError::Duplicate, Some(*d)));
        }
    }
    Ok(n)
}

impl Decl {
    /// A record's name and id, however broken the rest is (for messages).
    fn named(b: &[u8; RECORD_SIZE]) -> Decl {
        let mut name = [0u8; 32];
        name.copy_from_slice(&b[field::NAME..field::NAME + 32]);
        let n = b[field::NAME_LEN].min(32);
        let mut d = Decl::new(get_u32(b, field::ID), "", 0, 0, 0, 0, 0, 0);
        d.name = name;
        d.name_len = if core::str::from_utf8(&name[..n as usize]).is_ok() {
            n
        } else {
            0
        };
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_ones_are_named() {
        let d = Decl::new(0, "blocklist", kind::LPM, ty::IPV4, 8, ty::U32, 4, 1000);
        assert_eq!(Decl::decode(&d.encode()), Ok(d));
        assert_eq!(d.name(), "blocklist");
        let bad = Decl::new(0, "x", kind::ARRAY, ty::U32, 8, ty::U32, 4, 10);
        assert_eq!(Decl::decode(&bad.encode()), Err(DeclError::KeySize));
        let bad = Decl::new(0, "no-dash", kind::HASH, ty::HEX, 8, ty::U32, 4, 10);
        assert_eq!(bad.check(), Err(DeclError::Name));
        let zero = Decl::new(0, "z", kind::HASH, ty::HEX, 8, ty::U32, 0, 10);
        assert_eq!(zero.check(), Err(DeclError::ValueSize));
        let odd = Decl::new(0, "z", kind::HASH, ty::U64, 12, ty::U32, 4, 10);
        assert_eq!(odd.check(), Err(DeclError::Type));
    }

    #[test]
    fn sections_need_ids_in_range_and_unique_names() {
        let a = Decl::new(0, "a", kind::HASH, ty::U32, 4, ty::U64, 8, 10).encode();
        let b = Decl::new(1, "b", kind::ARRAY, ty::U32, 4, ty::U64, 8, 10).encode();
        let a2 = Decl::new(1, "a", kind::HASH, ty::U32, 4, ty::U64, 8, 10).encode();
        let again = Decl::new(0, "c", kind::HASH, ty::U32, 4, ty::U64, 8, 10).encode();
        let mut out = [None; MAPS_MAX as usize];
        assert_eq!(decode_section(&[b, a].concat(), &mut out), Ok(2));
        assert_eq!(out[0].map(|d| d.id), Some(0));
        let mut out = [None; MAPS_MAX as usize];
        assert_eq!(
            decode_section(&[a, again].concat(), &mut out).map_err(|e| e.0),
            Err(DeclError::Id)
        );
        let mut out = [None; MAPS_MAX as usize];
        assert_eq!(
            decode_section(&[a, a2].concat(), &mut out).map_err(|e| e.0),
            Err(DeclError::Duplicate)
        );
        let mut out = [None; MAPS_MAX as usize];
        assert_eq!(
            decode_section(&a[..10], &mut out).map_err(|e| e.0),
            Err(DeclError::SectionSize)
        );
    }
}
