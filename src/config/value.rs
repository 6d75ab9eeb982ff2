//! Parsing of single configuration values, and the collector that names each bad one.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::SecretString;
use time::Duration;
use url::Url;

use super::{DatabaseConfig, Problem, SETTINGS};

/// Collects parsed values and the problems met on the way.
pub(super) struct Parser {
    raw: BTreeMap<String, String>,
    problems: Vec<Problem>,
}

impl Parser {
    pub(super) fn new(raw: BTreeMap<String, String>, problems: Vec<Problem>) -> Self {
        Self { raw, problems }
    }

    /// Parses a setting that has a default. On failure records a problem and returns the
    /// parsed default, so that every bad key is reported in one go.
    pub(super) fn parse<T>(&mut self, key: &str, default: &str, expected: &str, f: impl Fn(&str) -> Option<T>) -> T {
        let value = self.raw.get(key).map(|v| v.trim().to_owned());
        if let Some(v) = &value {
            if let Some(parsed) = f(v) {
                return parsed;
            }
            self.reject(key, expected, v);
        }
        match f(default) {
            Some(parsed) => parsed,
            None => unreachable!("the default of PROPUSK_{key} parses"),
        }
    }

    /// Parses a setting that may be absent (or empty).
    pub(super) fn optional<T>(&mut self, key: &str, expected: &str, f: impl Fn(&str) -> Option<T>) -> Option<T> {
        let value = self
            .raw
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())?;
        let parsed = f(&value);
        if parsed.is_none() {
            self.reject(key, expected, &value);
        }
        parsed
    }

    fn reject(&mut self, key: &str, expected: &str, value: &str) {
        // Secrets and URLs with credentials are not echoed back.
        let shown = if matches!(key, "MASTER_KEY" | "DATABASE_URL" | "REDIS_URL" | "SMTP_URL") {
            "[redacted]".to_owned()
        } else {
            format!("{value:?}")
        };
        self.problems.push(Problem {
            key: format!("PROPUSK_{key}"),
            message: format!("expected {expected}, got {shown}"),
        });
    }

    pub(super) fn finish(self) -> Vec<Problem> {
        self.problems
    }
}

/// Reads `propusk.toml`: keys as in the environment, with or without the `PROPUSK_` prefix,
/// in any case (`listen = "0.0.0.0:8080"`). Unknown keys are errors, so typos do not pass.
pub(super) fn read_toml(path: &Path, text: &str, raw: &mut BTreeMap<String, String>, problems: &mut Vec<Problem>) {
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => {
            let message = e.message().to_owned();
            problems.push(Problem {
                key: display(path),
                message: format!("not valid TOML: {message}"),
            });
            return;
        }
    };
    for (name, value) in table {
        let upper = name.to_ascii_uppercase();
        let key = upper.strip_prefix("PROPUSK_").unwrap_or(&upper).to_owned();
        if !SETTINGS.iter().any(|(k, _, _)| *k == key) {
            problems.push(Problem {
                key: format!("{} {name}", display(path)),
                message: "unknown setting".into(),
            });
            continue;
        }
        match scalar(&value).or_else(|| {
            let items = value.as_array()?;
            items
                .iter()
                .map(scalar)
                .collect::<Option<Vec<_>>>()
                .map(|v| v.join(","))
        }) {
            Some(text) => {
                raw.insert(key, text);
            }
            None => problems.push(Problem {
                key: format!("{} {name}", display(path)),
                message: "expected a string, a number, a boolean or a list of them".into(),
            }),
        }
    }
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

pub(super) fn issuer(s: &str) -> Option<Url> {
    let url = Url::parse(s).ok()?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    ok.then_some(url)
}

pub(super) fn database(s: &str) -> Option<DatabaseConfig> {
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        let url = Url::parse(s).ok()?;
        let name = url.path().trim_start_matches('/');
        return (url.host().is_some() && !name.is_empty() && !name.contains('/'))
            .then(|| DatabaseConfig::Postgres(SecretString::from(s.to_owned())));
    }
    let path = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && path != ":memory:").then(|| DatabaseConfig::Sqlite(PathBuf::from(path)))
}

pub(super) fn brokers(s: &str) -> Option<Vec<String>> {
    list(s)
        .map(|b| {
            let (host, port) = b.rsplit_once(':')?;
            (!host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)).then(|| b.to_owned())
        })
        .collect()
}

pub(super) fn master_key(s: &str) -> Option<SecretString> {
    crate::crypto::decode_key(s).map(|_| SecretString::from(s.to_owned()))
}

/// `s` when it is 1..=`max` characters of ASCII alphanumerics and `extra`.
pub(super) fn token(s: &str, max: usize, extra: &str) -> Option<String> {
    let ok = !s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c));
    ok.then(|| s.to_owned())
}

/// The non-empty items of a comma-separated list.
pub(super) fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty())
}

/// `90`, `90s`, `10m`, `1h`, `14d`.
pub fn duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(seconds).map(Duration::seconds)
}

/// A rate limit `N/period` (e.g. `30/1m`, `1000/1s`), or `off`.
pub fn rate(s: &str) -> Option<Option<crate::model::rate::Rate>> {
    if s.trim() == "off" {
        return Some(None);
    }
    let (count, period) = s.split_once('/')?;
    let count = count.trim().parse::<u32>().ok().filter(|n| *n > 0)?;
    let period = duration(period).filter(|d| *d >= Duration::seconds(1) && *d <= Duration::days(1))?;
    Some(Some(crate::model::rate::Rate::new(count, period)))
}

/// Growing lockout durations: `1m,5m,15m,1h`.
pub fn durations(s: &str) -> Option<Vec<Duration>> {
    let all: Option<Vec<Duration>> = list(s)
        .map(|d| duration(d).filter(|d| *d >= Duration::seconds(1) && *d <= Duration::days(7)))
        .collect();
    all.filter(|v| !v.is_empty() && v.len() <= 16)
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(()),
        }
    }
}

/// An IP network: a trusted proxy's address or range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// True when `ip` lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            (IpAddr::V6(_), IpAddr::V4(v4)) => self.contains(IpAddr::V6(v4.to_ipv6_mapped())),
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().is_some_and(|v4| self.contains(IpAddr::V4(v4))),
        }
    }
}

impl FromStr for IpNet {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (
                a.parse::<IpAddr>().map_err(|_| ())?,
                Some(p.parse::<u8>().map_err(|_| ())?),
            ),
            None => (s.parse::<IpAddr>().map_err(|_| ())?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(());
        }
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}
