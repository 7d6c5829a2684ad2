//! Durations: the one parser of each kind imgf reads, and the forms it
//! writes.
//!
//! - `rebuildDelay` in images.yaml: days, hours, minutes and seconds (`7d`,
//!   `1d12h`, `0`) — [`parse`];
//! - Kubernetes-style intervals in settings.yaml (`5m`, `24h`, `1.5h`) —
//!   [`parse_interval`];
//! - what Kargo accepts (`requiredSoakTime`, Warehouse `interval`: hours,
//!   minutes and seconds, so `7d` is written `168h`) — [`hms`];
//! - what people read (`7d` when it is whole days) — [`human`].

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

/// A duration with day, hour, minute and second units: `7d`, `36h`, `1d12h`,
/// `0`. Returns the number of seconds.
pub fn parse(s: &str) -> Result<u64, String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^([0-9]+[dhms])+$"));
    static PART: LazyLock<Regex> = LazyLock::new(|| re(r"([0-9]+)([dhms])"));
    if s == "0" {
        return Ok(0);
    }
    if !R.is_match(s) {
        return Err(
            "a duration is a number with a unit d, h, m or s, like `7d`, `36h` or `1d12h`, or `0`"
                .into(),
        );
    }
    let mut total: u64 = 0;
    let mut units = String::new();
    for c in PART.captures_iter(s) {
        if units.contains(&c[2]) {
            return Err(format!(
                "the unit `{}` appears twice: write each unit once, like `1d12h`",
                &c[2]
            ));
        }
        units.push_str(&c[2]);
        let n: u64 = c[1]
            .parse()
            .map_err(|_| "the number is too large".to_string())?;
        let unit = match &c[2] {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            _ => 1,
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "the duration is too large".to_string())?;
    }
    Ok(total)
}

/// A Kubernetes/Kargo interval in Go duration syntax restricted to what the
/// Warehouse CRD accepts: `5m`, `24h`, `1h30m`.
/// Seconds of a Kubernetes-style interval (`24h`, `1h30m`, `1.5h`).
pub fn parse_interval(s: &str) -> u64 {
    let mut total = 0.0f64;
    let mut num = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'h' | 'm' | 's' => {
                let n: f64 = num.parse().unwrap_or(0.0);
                total += n * match c {
                    'h' => 3600.0,
                    'm' => 60.0,
                    _ => 1.0,
                };
                num.clear();
            }
            _ => {}
        }
    }
    // Intervals are at most days long: the float is exact enough.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let secs = total.round() as u64;
    secs
}

/// A duration as Kargo's `requiredSoakTime` accepts it (hours, minutes and
/// seconds only: `7d` becomes `168h`).
pub fn hms(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    if s > 0 || out.is_empty() {
        let _ = write!(out, "{s}s");
    }
    out
}

/// `secs` for people: whole days as `7d`, else as [`hms`]; `0` as `0`.
pub fn human(secs: u64) -> String {
    match secs {
        0 => "0".to_string(),
        d if d % 86_400 == 0 => format!("{}d", d / 86_400),
        _ => hms(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip() {
        assert_eq!(parse("7d"), Ok(604_800));
        assert_eq!(parse("1d12h"), Ok(129_600));
        assert_eq!(parse("0"), Ok(0));
        assert!(parse("7 days").is_err());
        assert!(parse("").is_err());
        assert!(parse("99999999999999999999d").is_err());
        assert!(parse("2h1d1d").unwrap_err().contains("`d` appears twice"));
        assert_eq!(parse("2h1d"), Ok(93_600));
        assert_eq!(parse("36h"), Ok(129_600));
        assert_eq!(parse_interval("1.5h"), 5_400);
        assert_eq!(hms(604_800), "168h");
        assert_eq!(hms(5_430), "1h30m30s");
        assert_eq!(hms(0), "0s");
        assert_eq!(human(604_800), "7d");
        assert_eq!(human(129_600), "36h");
        assert_eq!(human(0), "0");
    }
}
