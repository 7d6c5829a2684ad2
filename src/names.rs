//! Names: the one place that decides what a generated object is called.
//!
//! Kargo turns Stage and Warehouse names into label values and Job names, so
//! every `metadata.name` imgf emits is a DNS-1123 subdomain of at most 63
//! characters. Names are a pure function of their parts: the same parts give
//! the same name on every run and every machine, and adding other images never
//! renames an object. When the readable form would be too long, or had to be
//! altered to be valid, a short stable hash of the *original* parts is
//! appended, so two different inputs never end up with one name.

/// The longest name imgf emits: the Kubernetes label-value limit.
pub(crate) const MAX_NAME_LEN: usize = 63;
/// Hex digits of the hash suffix (40 bits).
const HASH_LEN: usize = 10;

/// A DNS-1123 label: lowercase alphanumerics and `-`, starting and ending
/// with an alphanumeric, at most 63 characters (Namespaces, Projects).
pub(crate) fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
        })
}

/// The rule for every name imgf emits: a subdomain that fits in a label value.
pub(crate) fn is_valid_object_name(s: &str) -> bool {
    s.len() <= MAX_NAME_LEN && is_dns1123_subdomain(s)
}

/// A valid Kubernetes label value (at most 63 characters).
pub(crate) fn is_valid_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= MAX_NAME_LEN
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')))
}

/// The name for an object made of `parts` joined by `-`
/// (`["rebuild-trigger", "uv", "from", "python-3.12-slim"]`).
///
/// The readable join is used as it is when it is already valid and short
/// enough; otherwise it is made valid, cut, and given a hash suffix.
pub(crate) fn object_name(parts: &[&str]) -> String {
    let joined = parts.join("-");
    fit(&joined)
}

/// Makes `raw` a valid object name, keeping it as it is when it already is one.
pub(crate) fn fit(raw: &str) -> String {
    // Most names are valid as they are: skip the rewrite (a valid name is
    // exactly one that `sanitize` leaves alone; a property test holds this).
    if is_valid_object_name(raw) {
        return raw.to_string();
    }
    let clean = sanitize(raw);
    if !clean.is_empty() && clean == raw && clean.len() <= MAX_NAME_LEN {
        return clean;
    }
    with_hash(raw, raw)
}

/// A valid name to suggest for a name the user wrote that is not a DNS-1123
/// label (an image name): readable, not hashed — `api.v2` → `api-v2`,
/// `My_App` → `my-app`. Letters are lower-cased, every other character
/// becomes `-`, runs of `-` collapse, and the result is cut to 63
/// characters; a name with nothing usable in it becomes `image`.
pub(crate) fn suggest_label(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(MAX_NAME_LEN);
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "image".to_string()
    } else {
        out.to_string()
    }
}

/// Lowercases, replaces every character a subdomain cannot hold with `-`,
/// and repairs dots and dashes at label edges.
fn sanitize(raw: &str) -> String {
    let mapped: Vec<u8> = raw
        .bytes()
        .map(|c| match c {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' => c,
            b'A'..=b'Z' => c.to_ascii_lowercase(),
            _ => b'-',
        })
        .collect();
    // A dot must sit between two alphanumerics, or it starts/ends an empty or
    // dash-edged label.
    let mut out = Vec::with_capacity(mapped.len());
    for (i, &c) in mapped.iter().enumerate() {
        if c == b'.' {
            let prev_ok = out.last().is_some_and(|p: &u8| p.is_ascii_alphanumeric());
            let next_ok = mapped.get(i + 1).is_some_and(u8::is_ascii_alphanumeric);
            out.push(if prev_ok && next_ok { b'.' } else { b'-' });
        } else {
            out.push(c);
        }
    }
    let s = String::from_utf8(out).unwrap_or_default();
    s.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// The stable name of a base image (its state file and Warehouse): a pure
/// function of what is watched — registry, repository and tag; a pinned
/// digest is recorded in the state, not in the name.
///
/// An official Docker Hub image with a one-word name keeps the familiar form
/// (`node:22-bookworm-slim` → `node-22-bookworm-slim`): the first `-`
/// separates name and tag, so such names cannot collide. Every other
/// reference is written out readably and given a hash of its canonical form,
/// so `bitnami/redis:7.2` and `bitnami-redis:7.2`, or `ghcr.io/o/i:1` and
/// `quay.io/o/i:1`, never share a name.
pub(crate) fn base_image_name(image: &crate::image_ref::ImageRef) -> String {
    let watched = image.watched().unwrap_or_else(|| image.clone());
    let canonical = watched.canonical();
    if let (Some(name), Some(tag)) = (
        watched
            .repository
            .strip_prefix("library/")
            .filter(|_| watched.registry == crate::image_ref::DEFAULT_REGISTRY),
        watched.tag.as_deref(),
    ) {
        let simple = format!("{name}-{tag}");
        if name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && is_valid_object_name(&simple)
        {
            return simple;
        }
    }
    let readable = watched.familiar().replace(['/', ':', '@'], "-");
    with_hash(&readable, &canonical)
}

/// `readable` made valid and cut to fit, always followed by a hash of `key`.
pub(crate) fn with_hash(readable: &str, key: &str) -> String {
    let clean = sanitize(readable);
    let keep = MAX_NAME_LEN - HASH_LEN - 1;
    let mut head: String = clean.chars().take(keep).collect();
    while head.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        head.pop();
    }
    let hash = short_hash(key);
    if head.is_empty() {
        hash
    } else {
        format!("{head}-{hash}")
    }
}

/// FNV-1a, 64 bit, as lowercase hex cut to [`HASH_LEN`] digits. Chosen for
/// being tiny and fixed forever: names must not change when a dependency does.
pub(crate) fn short_hash(s: &str) -> String {
    format!("{:016x}", fnv1a64(s.bytes()))[..HASH_LEN].to_string()
}

/// FNV-1a, 64 bit: [`short_hash`]'s hash, whole.
pub(crate) fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A stable, well-mixed 64-bit hash of `s`: FNV-1a followed by murmur3's
/// `fmix64` finaliser (plain FNV spreads similar keys poorly). Shard
/// placement and poll spreading use it; like [`short_hash`] it is fixed
/// forever, since changing it would move objects between shards.
pub(crate) fn mixed_hash(s: &str) -> u64 {
    fmix64(fnv1a64(s.bytes()))
}

/// [`mixed_hash`] of `parts` written one after the other, without making
/// that string (placement hashes tens of thousands of joined names).
pub(crate) fn mixed_hash_parts(parts: &[&str]) -> u64 {
    fmix64(fnv1a64(parts.iter().flat_map(|p| p.bytes())))
}

/// murmur3's 64-bit finaliser.
pub(crate) fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Hashing the parts is hashing the string they make.
        #[test]
        fn parts_hash_as_their_concatenation(parts in prop::collection::vec(".{0,12}", 0..4)) {
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            prop_assert_eq!(mixed_hash_parts(&parts), mixed_hash(&parts.concat()));
        }
    }

    #[test]
    fn keeps_valid_short_names() {
        assert_eq!(
            object_name(&["analyze-dockerfile", "uv"]),
            "analyze-dockerfile-uv"
        );
        assert_eq!(fit("python-3.12-slim"), "python-3.12-slim");
    }

    #[test]
    fn shortens_the_old_tools_79_character_stage_name() {
        let n = object_name(&[
            "rebuild-trigger",
            "e2e-test-runner",
            "from",
            "mcr.microsoft.com-playwright-v1.40.0-focal",
        ]);
        assert!(n.len() <= 63, "{n} is {} long", n.len());
        assert!(is_valid_object_name(&n));
        assert!(n.starts_with("rebuild-trigger-e2e-test-runner-from-mcr"));
    }

    #[test]
    fn altered_names_get_a_hash_so_they_stay_distinct() {
        let a = fit("redis_7.2");
        let b = fit("redis-7.2");
        assert_ne!(a, b);
        assert!(is_valid_object_name(&a));
        assert_eq!(b, "redis-7.2");
    }

    #[test]
    fn base_image_names() {
        let n = |s: &str| base_image_name(&crate::image_ref::ImageRef::parse(s).unwrap());
        assert_eq!(n("node:22-bookworm-slim"), "node-22-bookworm-slim");
        assert_eq!(n("python:3.12-slim"), "python-3.12-slim");
        assert_eq!(n("node"), n("docker.io/library/node:latest"));
        assert_eq!(n("node"), "node-latest");
        assert_ne!(n("bitnami/redis:7.2"), n("bitnami-redis:7.2"));
        assert_ne!(n("ghcr.io/o/i:1"), n("quay.io/o/i:1"));
        assert_ne!(n("eclipse-temurin:21"), n("eclipse:temurin-21"));
        assert!(n("ghcr.io/o/i:1").starts_with("ghcr.io-o-i-1-"));
        let d = format!("sha256:{}", "b".repeat(64));
        assert_eq!(
            n(&format!("node:22@{d}")),
            n("node:22"),
            "the pin is state, not identity"
        );
        assert!(is_valid_object_name(&n(&format!("node@{d}"))));
    }

    #[test]
    fn suggestions_are_readable_labels() {
        assert_eq!(suggest_label("api.v2"), "api-v2");
        assert_eq!(suggest_label("my_api"), "my-api");
        assert_eq!(suggest_label("My_App"), "my-app");
        assert_eq!(suggest_label("-web--front-"), "web-front");
        assert_eq!(suggest_label("__"), "image");
        assert_eq!(suggest_label(&"a.".repeat(40)).len(), 63);
    }

    #[test]
    fn label_and_subdomain_rules() {
        assert!(is_dns1123_label("image-factory"));
        assert!(!is_dns1123_label("image.factory"));
        assert!(!is_dns1123_label("-a"));
        assert!(is_dns1123_subdomain("a.b-c.d"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(!is_dns1123_subdomain("A"));
        assert!(is_valid_label_value("node-22.x_y"));
        assert!(!is_valid_label_value("-x"));
    }

    proptest! {
        #[test]
        fn every_generated_name_satisfies_the_rules(parts in proptest::collection::vec(".{0,80}", 1..5)) {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let name = object_name(&refs);
            prop_assert!(is_valid_object_name(&name), "{name:?} from {parts:?}");
            prop_assert!(is_valid_label_value(&name));
            prop_assert_eq!(&name, &object_name(&refs), "not deterministic");
        }

        /// `fit`'s shortcut is sound: a valid name is exactly one that the
        /// rewrite leaves alone.
        #[test]
        fn valid_names_are_those_sanitize_keeps(s in "[a-zA-Z0-9.-]{0,70}|[a-z0-9]{1,8}([.-]{1,2}[a-z0-9]{0,8}){0,5}") {
            let kept = !s.is_empty() && sanitize(&s) == s && s.len() <= MAX_NAME_LEN;
            prop_assert_eq!(is_valid_object_name(&s), kept, "{:?}", s);
        }

        #[test]
        fn distinct_inputs_get_distinct_names(a in "[a-zA-Z0-9._/:@-]{1,90}", b in "[a-zA-Z0-9._/:@-]{1,90}") {
            prop_assume!(a != b);
            prop_assert_ne!(fit(&a), fit(&b));
        }

        #[test]
        fn base_image_names_are_valid_and_distinct(
            a in "[a-z0-9]{1,6}([-/][a-z0-9]{1,6}){0,2}(:[a-z0-9][a-z0-9.-]{0,10})?",
            b in "[a-z0-9]{1,6}([-/][a-z0-9]{1,6}){0,2}(:[a-z0-9][a-z0-9.-]{0,10})?",
        ) {
            let (Ok(ra), Ok(rb)) = (crate::image_ref::ImageRef::parse(&a), crate::image_ref::ImageRef::parse(&b)) else {
                return Ok(());
            };
            let (na, nb) = (base_image_name(&ra), base_image_name(&rb));
            prop_assert!(is_valid_object_name(&na), "{na}");
            prop_assert_eq!(ra == rb, na == nb, "{} {} -> {} {}", a, b, na, nb);
        }

        /// Every suggested name is a valid image name (a DNS-1123 label),
        /// and a valid name is suggested as it is.
        #[test]
        fn every_suggestion_is_a_valid_label(s in ".{0,100}|[a-zA-Z0-9._ -]{0,100}") {
            let suggestion = suggest_label(&s);
            prop_assert!(is_dns1123_label(&suggestion), "{s:?} -> {suggestion:?}");
            if is_dns1123_label(&s) && !s.contains("--") {
                prop_assert_eq!(&suggestion, &s);
            }
        }

        #[test]
        fn fitting_is_idempotent(s in ".{0,100}") {
            let once = fit(&s);
            prop_assert_eq!(fit(&once), once.clone());
        }
    }
}
