//! Suggestions for a misspelt name: "did you mean …?".

/// The closest candidate to a misspelt word, if it is close enough to be a
/// plausible typo (`rebuildDelya` → `rebuildDelay`).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Up to `max` candidates close enough to `word` to be what was meant,
/// nearest first (ties in the candidates' order): the closeness rule of
/// [`did_you_mean`], and at most half the shorter word changed, so short
/// names are not suggested for anything short (`wbe` is not a typo of `b`).
pub fn nearest<'a>(word: &str, candidates: &[&'a str], max: usize) -> Vec<&'a str> {
    let lower = word.to_ascii_lowercase();
    let mut close: Vec<(usize, &'a str)> = candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d <= 1.max(lower.len().min(c.len()) / 2))
        .collect();
    close.sort_by_key(|(d, _)| *d);
    let mut out: Vec<&'a str> = Vec::new();
    for (_, c) in close {
        if out.len() == max {
            break;
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// "did you mean `a`, `b` or `c`?" for [`nearest`]'s answer; `None` when
/// nothing was close.
pub fn did_you_mean_any(names: &[&str]) -> Option<String> {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}

/// Damerau–Levenshtein distance (optimal string alignment): a swap of two
/// neighbouring letters, the commonest typo, costs one edit.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["name", "registry", "rebuildDelay", "autoRebuild"];
        assert_eq!(did_you_mean("rebuildDelya", &keys), Some("rebuildDelay"));
        assert_eq!(did_you_mean("regsitry", &keys), Some("registry"));
        assert_eq!(did_you_mean("autorebuild", &keys), Some("autoRebuild"));
        assert_eq!(did_you_mean("completely-else", &keys), None);
    }

    #[test]
    fn nearest_lists_close_names_nearest_first() {
        let names = ["web", "worker", "wbe-x", "api", "web2", "b"];
        assert_eq!(nearest("wbe", &names, 3), ["web"]);
        assert_eq!(nearest("webb", &names, 3), ["web", "web2"]);
        assert_eq!(nearest("wbe-xx", &names, 3), ["wbe-x"]);
        assert_eq!(nearest("completely-else", &names, 3), Vec::<&str>::new());
        assert_eq!(nearest("web", &["web", "web"], 3), ["web"]);
        assert_eq!(nearest("bb", &["b", "c", "d"], 3), ["b"]);
        assert_eq!(did_you_mean_any(&[]), None);
        assert_eq!(did_you_mean_any(&["a"]).unwrap(), "did you mean `a`?");
        assert_eq!(
            did_you_mean_any(&["a", "b", "c"]).unwrap(),
            "did you mean `a`, `b` or `c`?"
        );
    }
}
