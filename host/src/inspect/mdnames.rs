//! The names a guest's /etc/fstab gives its md arrays, resolved to the appliance's arrays as
//! libguestfs resolves them (daemon/inspect_fs_unix_fstab.ml): `/dev/mdN` through the
//! guest's mdadm.conf (its `ARRAY /dev/mdN ... UUID=...` lines, matched by UUID against
//! the assembled arrays, whose kernel numbers differ: `/dev/md0` is `/dev/md126` here), and
//! `/dev/md/NAME` kept as it is when an array of that name is assembled (the appliance has
//! the same link). Pure functions over the file's text and `md_detail`'s lines: it never
//! reads anything itself.

use guestwright_protocol::Device;

/// The `ARRAY` lines of a guest's mdadm.conf: (device name, UUID), as [`conf_arrays`] reads them.
pub type ConfArrays = Vec<(String, String)>;

/// An assembled array: its appliance name and, from `md_detail`, its UUID (32 lower-case
/// hex digits) and its name (`devname`, the link under `/dev/md/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdArray {
    /// The appliance's name, `/dev/md127`.
    pub device: Device,
    /// The array's UUID as [`parse_uuid`] returns it.
    pub uuid: Option<String>,
    /// The array's name (`bootdev` for `/dev/md/bootdev`).
    pub devname: Option<String>,
}

impl MdArray {
    /// From `md_detail`'s `key=value` lines.
    pub fn from_detail(device: Device, detail: &[String]) -> MdArray {
        let value = |key: &str| {
            detail.iter().find_map(|l| {
                l.split_once('=')
                    .filter(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            })
        };
        MdArray {
            device,
            uuid: value("uuid").as_deref().and_then(parse_uuid),
            devname: value("devname"),
        }
    }
}

/// An md UUID in any of mdadm's spellings (`a5d5f016:b8c3e6f4:...`, with `-`, `.` or
/// spaces) as 32 lower-case hex digits; None when it is not one (as mdadm's parse_uuid).
pub fn parse_uuid(text: &str) -> Option<String> {
    let mut out = String::with_capacity(32);
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            out.push(c.to_ascii_lowercase());
        } else if !matches!(c, ':' | '.' | ' ' | '-') {
            return None;
        }
    }
    (out.len() == 32).then_some(out)
}

/// The `ARRAY` lines of an mdadm.conf: (device name, UUID). Lines that start with white
/// space continue the one before; an array without both is left out.
pub fn conf_arrays(text: &str) -> ConfArrays {
    let mut logical: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        if line.starts_with([' ', '\t']) {
            if let Some(last) = logical.last_mut() {
                last.push(' ');
                last.push_str(line);
                continue;
            }
        }
        logical.push(line.to_string());
    }
    logical
        .iter()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if !words.next()?.eq_ignore_ascii_case("ARRAY") {
                return None;
            }
            let mut name = None;
            let mut uuid = None;
            for w in words {
                match w.split_once('=') {
                    Some((k, v)) if k.eq_ignore_ascii_case("uuid") => uuid = parse_uuid(v),
                    Some(_) => {}
                    None if name.is_none() && w.starts_with("/dev/") => name = Some(w.to_string()),
                    None => {}
                }
            }
            Some((name?, uuid?))
        })
        .collect()
}

/// The appliance's device for an fstab `spec` that names an md array, or None when it names
/// none of `arrays` (or is not an md name).
pub fn resolve(spec: &str, conf: &[(String, String)], arrays: &[MdArray]) -> Option<Device> {
    let rest = spec.strip_prefix("/dev/md")?;
    if let Some(name) = rest.strip_prefix('/') {
        return arrays
            .iter()
            .any(|a| a.devname.as_deref() == Some(name))
            .then(|| Device::from(spec));
    }
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (_, uuid) = conf.iter().find(|(name, _)| name == spec)?;
    arrays
        .iter()
        .find(|a| a.uuid.as_deref() == Some(uuid.as_str()))
        .map(|a| a.device.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "MAILADDR root\nAUTO +imsm +1.x -all\n\
        ARRAY /dev/md0 level=raid1 num-devices=2 UUID=a5d5f016:b8c3e6f4:79baf324:8010c972\n\
        ARRAY /dev/md1 level=raid1\n   num-devices=2 uuid=7752DBB9-F24B776E-77907CF4-6C83E38D\n\
        ARRAY /dev/md2 level=raid1 UUID=not-a-uuid\n";

    fn arrays() -> Vec<MdArray> {
        let detail = |uuid: &str, name: &str| {
            vec![
                "level=raid1".to_string(),
                format!("uuid={uuid}"),
                format!("devname={name}"),
            ]
        };
        vec![
            MdArray::from_detail(
                Device::from("/dev/md126"),
                &detail("a5d5f016:b8c3e6f4:79baf324:8010c972", "bootdev"),
            ),
            MdArray::from_detail(
                Device::from("/dev/md127"),
                &detail("7752dbb9:f24b776e:77907cf4:6c83e38d", "rootdev"),
            ),
        ]
    }

    #[test]
    fn a_guests_md_numbers_map_through_mdadm_conf_uuids_to_the_appliances_arrays() {
        let conf = conf_arrays(CONF);
        assert_eq!(conf.len(), 2, "{conf:?}");
        let md = |spec| resolve(spec, &conf, &arrays()).map(|d| d.as_str().to_string());
        assert_eq!(md("/dev/md0").as_deref(), Some("/dev/md126"));
        assert_eq!(md("/dev/md1").as_deref(), Some("/dev/md127"));
        assert_eq!(md("/dev/md2"), None);
        assert_eq!(md("/dev/md9"), None);
    }

    #[test]
    fn a_named_array_keeps_its_name_when_assembled() {
        let md = |spec| resolve(spec, &[], &arrays()).map(|d| d.as_str().to_string());
        assert_eq!(md("/dev/md/bootdev").as_deref(), Some("/dev/md/bootdev"));
        assert_eq!(md("/dev/md/other"), None);
        assert_eq!(md("/dev/mdx"), None);
        assert_eq!(md("/dev/sda1"), None);
    }
}
