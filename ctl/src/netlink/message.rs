//! The `wasmnf` family's messages: attributes, the requests the CLI sends and
//! the typed form of the kernel's GET replies.

use super::consts::{attr, cmd, family, on_error, CHUNK_MAX, FAMILY_NAME_STR, FAMILY_VERSION};
use netlink_packet_core::{
    emit_i32, emit_u32, emit_u64, parse_i32, parse_string, parse_u32, parse_u64, parse_u8,
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, ParseableParametrized,
    NLA_F_NESTED,
};
use netlink_packet_generic::{traits::GenlFamily, GenlHeader};
use wasmnf_common::counters::{Counter, Counters};
use wasmnf_engine::{FilterConfig, Hook, OnError};

/// The protocol family a filter is hooked for (`NFPROTO_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HookFamily {
    /// IPv4 and IPv6 (nftables' `inet`).
    #[default]
    Inet,
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
}

impl HookFamily {
    /// Every family, in the order the CLI lists them.
    pub const ALL: [HookFamily; 3] = [HookFamily::Inet, HookFamily::Ipv4, HookFamily::Ipv6];

    /// The name as the CLI and nftables spell it.
    pub fn name(self) -> &'static str {
        match self {
            HookFamily::Inet => "inet",
            HookFamily::Ipv4 => "ipv4",
            HookFamily::Ipv6 => "ipv6",
        }
    }

    /// Parses `inet`, `ipv4` or `ipv6`.
    pub fn from_name(name: &str) -> Option<HookFamily> {
        HookFamily::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The `WASMNF_A_FAMILY` value.
    pub fn to_u32(self) -> u32 {
        match self {
            HookFamily::Inet => family::INET,
            HookFamily::Ipv4 => family::IPV4,
            HookFamily::Ipv6 => family::IPV6,
        }
    }

    /// The family with `WASMNF_A_FAMILY` value `n`.
    pub fn from_u32(n: u32) -> Option<HookFamily> {
        HookFamily::ALL.into_iter().find(|f| f.to_u32() == n)
    }
}

/// One attribute of a `wasmnf` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attr {
    Name(String),
    Hook(u32),
    Family(u32),
    Priority(i32),
    Fuel(u64),
    MemoryPages(u32),
    OnError(u8),
    Config(Vec<u8>),
    WasmChunk(Vec<u8>),
    Replace,
    WasmSize(u32),
    Instances(u32),
    AbiVersion(u32),
    Stats(Vec<StatAttr>),
    Map(String),
    Key(Vec<u8>),
    Value(Vec<u8>),
    UpdateFlags(u32),
    MapDecl(Vec<u8>),
    MapBytes(u64),
    MapEntries(u32),
    MapRows(u32),
    MapMemory(u64),
    MapCount(u32),
    ResetMaps,
    /// `PAD` or an attribute this client does not know (a newer module).
    Other(DefaultNla),
}

/// One attribute nested in `WASMNF_A_STATS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatAttr {
    /// A u64 counter: its attribute number and value.
    Counter(u16, u64),
    /// `PAD` or a counter this client does not know.
    Other(DefaultNla),
}

impl Nla for StatAttr {
    fn value_len(&self) -> usize {
        match self {
            StatAttr::Counter(..) => 8,
            StatAttr::Other(nla) => nla.value_len(),
        }
    }
    fn kind(&self) -> u16 {
        match self {
            StatAttr::Counter(kind, _) => *kind,
            StatAttr::Other(nla) => nla.kind(),
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            StatAttr::Counter(_, v) => emit_u64(buffer, *v).expect("8 bytes"),
            StatAttr::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl StatAttr {
    fn parse(nla: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        Ok(match Counter::from_attr(nla.kind()) {
            Some(_) => StatAttr::Counter(nla.kind(), parse_u64(nla.value())?),
            None => StatAttr::Other(DefaultNla::new(nla.kind(), nla.value().to_vec())),
        })
    }
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match self {
            Attr::Name(s) | Attr::Map(s) => s.len() + 1,
            Attr::UpdateFlags(_) | Attr::MapEntries(_) | Attr::MapRows(_) | Attr::MapCount(_) => 4,
            Attr::MapBytes(_) | Attr::MapMemory(_) => 8,
            Attr::Key(b) | Attr::Value(b) | Attr::MapDecl(b) => b.len(),
            Attr::Hook(_)
            | Attr::Family(_)
            | Attr::Priority(_)
            | Attr::MemoryPages(_)
            | Attr::WasmSize(_)
            | Attr::Instances(_)
            | Attr::AbiVersion(_) => 4,
            Attr::Fuel(_) => 8,
            Attr::OnError(_) => 1,
            Attr::Config(b) | Attr::WasmChunk(b) => b.len(),
            Attr::Replace | Attr::ResetMaps => 0,
            Attr::Stats(nested) => nested.as_slice().buffer_len(),
            Attr::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Attr::Name(_) => attr::NAME,
            Attr::Hook(_) => attr::HOOK,
            Attr::Family(_) => attr::FAMILY,
            Attr::Priority(_) => attr::PRIORITY,
            Attr::Fuel(_) => attr::FUEL,
            Attr::MemoryPages(_) => attr::MEMORY_PAGES,
            Attr::OnError(_) => attr::ON_ERROR,
            Attr::Config(_) => attr::CONFIG,
            Attr::WasmChunk(_) => attr::WASM_CHUNK,
            Attr::Replace => attr::REPLACE,
            Attr::WasmSize(_) => attr::WASM_SIZE,
            Attr::Instances(_) => attr::INSTANCES,
            Attr::AbiVersion(_) => attr::ABI_VERSION,
            Attr::Stats(_) => attr::STATS | NLA_F_NESTED,
            Attr::Map(_) => attr::MAP,
            Attr::Key(_) => attr::KEY,
            Attr::Value(_) => attr::VALUE,
            Attr::UpdateFlags(_) => attr::UPDATE_FLAGS,
            Attr::MapDecl(_) => attr::MAP_DECL,
            Attr::MapBytes(_) => attr::MAP_BYTES,
            Attr::MapEntries(_) => attr::MAP_ENTRIES,
            Attr::MapRows(_) => attr::MAP_ROWS,
            Attr::MapMemory(_) => attr::MAP_MEMORY,
            Attr::MapCount(_) => attr::MAP_COUNT,
            Attr::ResetMaps => attr::RESET_MAPS,
            Attr::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Attr::Name(s) | Attr::Map(s) => {
                buffer[..s.len()].copy_from_slice(s.as_bytes());
                buffer[s.len()] = 0;
            }
            Attr::UpdateFlags(v) | Attr::MapEntries(v) | Attr::MapRows(v) | Attr::MapCount(v) => {
                emit_u32(buffer, *v).expect("4 bytes")
            }
            Attr::MapBytes(v) | Attr::MapMemory(v) => emit_u64(buffer, *v).expect("8 bytes"),
            Attr::Key(b) | Attr::Value(b) | Attr::MapDecl(b) => buffer.copy_from_slice(b),
            Attr::Hook(v)
            | Attr::Family(v)
            | Attr::MemoryPages(v)
            | Attr::WasmSize(v)
            | Attr::Instances(v)
            | Attr::AbiVersion(v) => emit_u32(buffer, *v).expect("4 bytes"),
            Attr::Priority(v) => emit_i32(buffer, *v).expect("4 bytes"),
            Attr::Fuel(v) => emit_u64(buffer, *v).expect("8 bytes"),
            Attr::OnError(v) => buffer[0] = *v,
            Attr::Config(b) | Attr::WasmChunk(b) => buffer.copy_from_slice(b),
            Attr::Replace | Attr::ResetMaps => {}
            Attr::Stats(nested) => nested.as_slice().emit(buffer),
            Attr::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl Attr {
    fn parse(nla: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        let v = nla.value();
        Ok(match nla.kind() {
            attr::NAME => Attr::Name(parse_string(v)?),
            attr::HOOK => Attr::Hook(parse_u32(v)?),
            attr::FAMILY => Attr::Family(parse_u32(v)?),
            attr::PRIORITY => Attr::Priority(parse_i32(v)?),
            attr::FUEL => Attr::Fuel(parse_u64(v)?),
            attr::MEMORY_PAGES => Attr::MemoryPages(parse_u32(v)?),
            attr::ON_ERROR => Attr::OnError(parse_u8(v)?),
            attr::CONFIG => Attr::Config(v.to_vec()),
            attr::WASM_CHUNK => Attr::WasmChunk(v.to_vec()),
            attr::REPLACE => Attr::Replace,
            attr::WASM_SIZE => Attr::WasmSize(parse_u32(v)?),
            attr::INSTANCES => Attr::Instances(parse_u32(v)?),
            attr::ABI_VERSION => Attr::AbiVersion(parse_u32(v)?),
            attr::MAP => Attr::Map(parse_string(v)?),
            attr::KEY => Attr::Key(v.to_vec()),
            attr::VALUE => Attr::Value(v.to_vec()),
            attr::UPDATE_FLAGS => Attr::UpdateFlags(parse_u32(v)?),
            attr::MAP_DECL => Attr::MapDecl(v.to_vec()),
            attr::MAP_BYTES => Attr::MapBytes(parse_u64(v)?),
            attr::MAP_ENTRIES => Attr::MapEntries(parse_u32(v)?),
            attr::MAP_ROWS => Attr::MapRows(parse_u32(v)?),
            attr::MAP_MEMORY => Attr::MapMemory(parse_u64(v)?),
            attr::MAP_COUNT => Attr::MapCount(parse_u32(v)?),
            attr::RESET_MAPS => Attr::ResetMaps,
            attr::STATS => Attr::Stats(
                NlasIterator::new(v)
                    .map(|nla| nla.and_then(|nla| StatAttr::parse(&nla)))
                    .collect::<Result<_, _>>()?,
            ),
            kind => Attr::Other(DefaultNla::new(kind, v.to_vec())),
        })
    }
}

/// A `wasmnf` generic-netlink message: a command and its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub cmd: u8,
    pub attrs: Vec<Attr>,
}

impl GenlFamily for Message {
    fn family_name() -> &'static str {
        FAMILY_NAME_STR
    }
    fn command(&self) -> u8 {
        self.cmd
    }
    fn version(&self) -> u8 {
        FAMILY_VERSION
    }
}

impl Emitable for Message {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for Message {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(Message {
            cmd: header.cmd,
            attrs: NlasIterator::new(buf)
                .map(|nla| nla.and_then(|nla| Attr::parse(&nla)))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A filter's settings: what `WASMNF_CMD_LOAD` sends and a GET reply
/// returns besides the name and the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub hook: Hook,
    pub family: HookFamily,
    pub priority: i32,
    pub fuel: u64,
    pub memory_pages: u32,
    pub on_error: OnError,
}

/// A map entry: its key and value bytes.
pub type MapEntry = (Vec<u8>, Vec<u8>);
/// A map entry as read back: its key, and one value per row.
pub type MapRows = (Vec<u8>, Vec<Vec<u8>>);

/// What `WASMNF_CMD_LOAD` carries.
#[derive(Clone, Debug)]
pub struct LoadRequest<'a> {
    pub name: &'a str,
    pub settings: Settings,
    /// The configuration as [`FilterConfig::encode`] writes it.
    pub config: &'a FilterConfig,
    /// The module, at most 1 MiB.
    pub wasm: &'a [u8],
    pub replace: bool,
    /// Bytes the filter's maps may take (`None`: the module's default).
    pub map_memory: Option<u64>,
    /// With `replace`: start the new filter's maps empty rather than keep
    /// the old filter's that carry over.
    pub reset_maps: bool,
    /// Entries the module puts into the filter's maps before attaching it:
    /// per map name, `(key, value)` pairs.
    pub maps: &'a [(String, Vec<MapEntry>)],
}

impl Message {
    /// `WASMNF_CMD_LOAD`: the module goes in `WASM_CHUNK` attributes of at
    /// most [`CHUNK_MAX`] bytes, in order.
    pub fn load(req: &LoadRequest<'_>) -> Message {
        let set = &req.settings;
        let mut attrs = vec![
            Attr::Name(req.name.into()),
            Attr::Hook(set.hook as u32),
            Attr::Family(set.family.to_u32()),
            Attr::Priority(set.priority),
            Attr::Fuel(set.fuel),
            Attr::MemoryPages(set.memory_pages),
            Attr::OnError(match set.on_error {
                OnError::Accept => on_error::ACCEPT,
                OnError::Drop => on_error::DROP,
            }),
        ];
        if !req.config.is_empty() {
            attrs.push(Attr::Config(req.config.encode().into_bytes()));
        }
        attrs.extend(
            req.wasm
                .chunks(CHUNK_MAX)
                .map(|c| Attr::WasmChunk(c.to_vec())),
        );
        if req.replace {
            attrs.push(Attr::Replace);
        }
        attrs.extend(req.map_memory.map(Attr::MapMemory));
        if req.reset_maps {
            attrs.push(Attr::ResetMaps);
        }
        for (map, entries) in req.maps {
            attrs.push(Attr::Map(map.clone()));
            for (k, v) in entries {
                attrs.push(Attr::Key(k.clone()));
                attrs.push(Attr::Value(v.clone()));
            }
        }
        Message {
            cmd: cmd::LOAD,
            attrs,
        }
    }

    /// A map command on map `map` of filter `name`, with `rest` after.
    fn on_map(cmd: u8, name: &str, map: Option<&str>, rest: Vec<Attr>) -> Message {
        let mut attrs = vec![Attr::Name(name.into())];
        attrs.extend(map.map(|m| Attr::Map(m.into())));
        attrs.extend(rest);
        Message { cmd, attrs }
    }

    /// `WASMNF_CMD_MAP_INFO`: one map (do) or, without `map`, all (dump).
    pub fn map_info(name: &str, map: Option<&str>) -> Message {
        Message::on_map(cmd::MAP_INFO, name, map, Vec::new())
    }

    /// `WASMNF_CMD_MAP_GET`: one key (do) or, without `key`, every entry
    /// (dump).
    pub fn map_get(name: &str, map: &str, key: Option<&[u8]>) -> Message {
        let rest = key.map(|k| Attr::Key(k.to_vec())).into_iter().collect();
        Message::on_map(cmd::MAP_GET, name, Some(map), rest)
    }

    /// `WASMNF_CMD_MAP_UPDATE`: a batch of `(key, value)` under `flags`.
    pub fn map_update(
        name: &str,
        map: &str,
        entries: &[(Vec<u8>, Vec<u8>)],
        flags: i32,
    ) -> Message {
        let mut rest = vec![Attr::UpdateFlags(flags as u32)];
        for (k, v) in entries {
            rest.push(Attr::Key(k.clone()));
            rest.push(Attr::Value(v.clone()));
        }
        Message::on_map(cmd::MAP_UPDATE, name, Some(map), rest)
    }

    /// `WASMNF_CMD_MAP_DELETE`: a batch of keys.
    pub fn map_delete(name: &str, map: &str, keys: &[Vec<u8>]) -> Message {
        let rest = keys.iter().map(|k| Attr::Key(k.clone())).collect();
        Message::on_map(cmd::MAP_DELETE, name, Some(map), rest)
    }

    /// `WASMNF_CMD_MAP_CLEAR`.
    pub fn map_clear(name: &str, map: &str) -> Message {
        Message::on_map(cmd::MAP_CLEAR, name, Some(map), Vec::new())
    }

    /// `WASMNF_CMD_UNLOAD`.
    pub fn unload(name: &str) -> Message {
        Message {
            cmd: cmd::UNLOAD,
            attrs: vec![Attr::Name(name.into())],
        }
    }

    /// `WASMNF_CMD_GET`: with a name for a do, without for a dump.
    pub fn get(name: Option<&str>) -> Message {
        Message {
            cmd: cmd::GET,
            attrs: name.map(|n| Attr::Name(n.into())).into_iter().collect(),
        }
    }
}

/// The counters of a `WASMNF_A_STATS` nest; counters this client does not
/// know are skipped, and absent ones are zero.
fn counters_from_attrs(attrs: &[StatAttr]) -> Counters {
    let mut s = Counters::default();
    for a in attrs {
        if let StatAttr::Counter(kind, v) = *a {
            if let Some(c) = Counter::from_attr(kind) {
                *s.get_mut(c) = v;
            }
        }
    }
    s
}

/// A loaded filter, as a GET reply describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterInfo {
    pub name: String,
    pub settings: Settings,
    pub config: FilterConfig,
    /// Module size in bytes.
    pub wasm_size: u32,
    /// Pre-created instances (one per possible CPU).
    pub instances: u32,
    pub abi_version: u32,
    /// Counters summed over CPUs (`WASMNF_A_STATS`).
    pub stats: Counters,
    /// How many maps it declares, the bytes they take, and their limit.
    pub maps: u32,
    pub map_bytes: u64,
    pub map_memory: u64,
}

impl FilterInfo {
    /// Reads a GET reply. `NAME`, `HOOK` and `FAMILY` are required; the other
    /// attributes default to zero (or the documented default) when absent.
    pub fn from_message(msg: &Message) -> Result<FilterInfo, DecodeError> {
        let (mut name, mut hook, mut fam) = (None, None, None);
        let mut info = FilterInfo {
            name: String::new(),
            settings: Settings {
                hook: Hook::Prerouting,
                family: HookFamily::Inet,
                priority: 0,
                fuel: 0,
                memory_pages: 0,
                on_error: OnError::Accept,
            },
            config: FilterConfig::default(),
            wasm_size: 0,
            instances: 0,
            abi_version: 0,
            stats: Counters::default(),
            maps: 0,
            map_bytes: 0,
            map_memory: 0,
        };
        for a in &msg.attrs {
            match a {
                Attr::Name(n) => name = Some(n.clone()),
                Attr::Hook(h) => {
                    hook = Some(
                        Hook::from_u32(*h)
                            .ok_or_else(|| DecodeError::from(format!("unknown hook {h}")))?,
                    )
                }
                Attr::Family(f) => {
                    fam = Some(
                        HookFamily::from_u32(*f)
                            .ok_or_else(|| DecodeError::from(format!("unknown family {f}")))?,
                    )
                }
                Attr::Priority(p) => info.settings.priority = *p,
                Attr::Fuel(f) => info.settings.fuel = *f,
                Attr::MemoryPages(p) => info.settings.memory_pages = *p,
                Attr::OnError(on_error::DROP) => info.settings.on_error = OnError::Drop,
                Attr::OnError(_) => info.settings.on_error = OnError::Accept,
                Attr::Config(c) => {
                    info.config = FilterConfig::decode(c)
                        .map_err(|e| DecodeError::from(format!("bad CONFIG: {e}")))?
                }
                Attr::WasmSize(s) => info.wasm_size = *s,
                Attr::Instances(n) => info.instances = *n,
                Attr::AbiVersion(v) => info.abi_version = *v,
                Attr::Stats(s) => info.stats = counters_from_attrs(s),
                Attr::MapCount(n) => info.maps = *n,
                Attr::MapBytes(b) => info.map_bytes = *b,
                Attr::MapMemory(m) => info.map_memory = *m,
                _ => {}
            }
        }
        info.name = name.ok_or("GET reply without NAME")?;
        info.settings.hook = hook.ok_or("GET reply without HOOK")?;
        info.settings.family = fam.ok_or("GET reply without FAMILY")?;
        Ok(info)
    }
}

/// Whether `name` is a valid filter name: 1-31 bytes of `[A-Za-z0-9_.-]`.
pub fn valid_name(name: &str) -> bool {
    super::consts::valid_name(name.as_bytes())
}

/// One map of a loaded filter, as a `MAP_INFO` reply describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDesc {
    /// The declaration (its `wasmnf.maps` record, decoded).
    pub decl: wasmnf_common::maps::Decl,
    /// Bytes it takes.
    pub bytes: u64,
    /// Entries it holds (an array: its capacity).
    pub entries: u32,
    /// Value rows: CPUs for per-CPU maps, else 1.
    pub rows: u32,
}

impl MapDesc {
    /// Reads a `MAP_INFO` reply.
    pub fn from_message(msg: &Message) -> Result<MapDesc, DecodeError> {
        let (mut decl, mut bytes, mut entries, mut rows) = (None, 0, 0, 1);
        for a in &msg.attrs {
            match a {
                Attr::MapDecl(d) => {
                    let record: &[u8; wasmnf_common::maps::RECORD_SIZE] =
                        d.as_slice()
                            .try_into()
                            .map_err(|_| DecodeError::from("MAP_DECL is not one record"))?;
                    decl = Some(wasmnf_common::maps::Decl::decode(record).map_err(|e| {
                        DecodeError::from(format!("bad MAP_DECL: {}", e.describe()))
                    })?);
                }
                Attr::MapBytes(b) => bytes = *b,
                Attr::MapEntries(n) => entries = *n,
                Attr::MapRows(r) => rows = *r,
                _ => {}
            }
        }
        Ok(MapDesc {
            decl: decl.ok_or("MAP_INFO reply without MAP_DECL")?,
            bytes,
            entries,
            rows,
        })
    }
}

/// One entry of a `MAP_GET` reply: the key and one value per row.
pub fn map_entry(msg: &Message) -> Result<MapRows, DecodeError> {
    let mut key = None;
    let mut rows = Vec::new();
    for a in &msg.attrs {
        match a {
            Attr::Key(k) => key = Some(k.clone()),
            Attr::Value(v) => rows.push(v.clone()),
            _ => {}
        }
    }
    Ok((key.ok_or("MAP_GET reply without KEY")?, rows))
}
