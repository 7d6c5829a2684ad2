//! The formats a target's output is written in: a `---` YAML stream of
//! objects (Kargo, Flux, Backstage), or one document, JSON or YAML (a
//! Renovate config, a single object set). A target names its [`Format`] in
//! its row of [`crate::targets::Spec`]; [`Format::rendering`] turns its
//! objects into a [`Rendering`] either way, so writing, `--check` and the
//! diff are the same for both.

use serde::ser::Error as _;
use serde::Serialize;

use super::{yaml, Rendering};

/// How a target's output is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A header comment, then one YAML document per object, separated by `---`.
    Stream,
    /// Exactly one document.
    Document(DocumentFormat),
}

/// The language of a single-document output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// Pretty-printed JSON (two-space indent), ending in a newline. JSON has
    /// no comments, so the target's header is not written.
    Json,
    /// One YAML document (no `---`) after the header comment.
    Yaml,
}

impl Format {
    /// The rendering of `len` objects made by `make`, in this format, after
    /// `header` (comment lines; not written in JSON). A document format
    /// takes exactly one object: `len` must be 1.
    pub fn rendering<'a, D: Serialize>(
        self,
        header: &'a str,
        len: usize,
        make: impl Fn(usize) -> D + Sync + 'a,
    ) -> Rendering<'a> {
        match self {
            Format::Stream => Rendering::new(len, make).with_header(header),
            Format::Document(format) => {
                assert_eq!(len, 1, "a single-document output has one object");
                Rendering::document(format, move || make(0)).with_header(match format {
                    DocumentFormat::Json => "",
                    DocumentFormat::Yaml => header,
                })
            }
        }
    }
}

impl<'a> Rendering<'a> {
    /// One document made by `make`, in `format`, with the default header
    /// (see [`Rendering::with_header`]).
    pub fn document<D: Serialize>(
        format: DocumentFormat,
        make: impl Fn() -> D + Sync + 'a,
    ) -> Rendering<'a> {
        Rendering {
            header: super::HEADER,
            len: 1,
            make: Box::new(move |_, out| write(out, format, &make())),
        }
    }
}

/// Appends `value` to `out` as one document in `format`, ending in a newline.
pub fn write<T: Serialize + ?Sized>(
    out: &mut String,
    format: DocumentFormat,
    value: &T,
) -> Result<(), yaml::Error> {
    match format {
        DocumentFormat::Yaml => yaml::write(out, value),
        DocumentFormat::Json => {
            let text = serde_json::to_string_pretty(value).map_err(yaml::Error::custom)?;
            out.push_str(&text);
            out.push('\n');
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Config {
        name: &'static str,
        tags: Vec<&'static str>,
    }

    fn config() -> Config {
        Config {
            name: "api",
            tags: vec!["1.0", "2.0"],
        }
    }

    fn text(r: &Rendering<'_>) -> String {
        r.to_stream().unwrap().to_text()
    }

    #[test]
    fn a_json_document_is_pretty_json_without_the_header() {
        let r = Format::Document(DocumentFormat::Json).rendering("# header\n", 1, |_| config());
        assert_eq!(r.documents(), 1);
        let t = text(&r);
        assert_eq!(
            t,
            "{\n  \"name\": \"api\",\n  \"tags\": [\n    \"1.0\",\n    \"2.0\"\n  ]\n}\n"
        );
        let back: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(back["tags"][1], "2.0");
    }

    #[test]
    fn a_yaml_document_has_the_header_and_no_separator() {
        let r = Format::Document(DocumentFormat::Yaml).rendering("# header\n", 1, |_| config());
        let t = text(&r);
        assert!(t.starts_with("# header\nname: api\n"), "{t}");
        assert!(!t.contains("---"), "{t}");
        let back: serde_json::Value = yaml_serde::from_str(&t).unwrap();
        assert_eq!(back["tags"][0], "1.0");
    }

    #[test]
    fn a_stream_separates_its_objects() {
        let r = Format::Stream.rendering("# header\n", 2, |_| config());
        let t = text(&r);
        assert!(t.starts_with("# header\nname: api\n"), "{t}");
        assert_eq!(t.matches("---\n").count(), 1, "{t}");
        assert_eq!(r.documents(), 2);
    }

    #[test]
    fn a_document_is_written_and_checked_like_a_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("renovate.json");
        let r = Format::Document(DocumentFormat::Json).rendering("", 1, |_| config());
        crate::emit::write_rendering(&path, &r).unwrap();
        assert!(crate::emit::matches_rendering(&path, &r).unwrap());
        assert!(std::fs::read_to_string(&path).unwrap().starts_with('{'));
    }

    #[test]
    #[should_panic(expected = "one object")]
    fn a_document_format_takes_one_object() {
        let _ = Format::Document(DocumentFormat::Json).rendering("", 2, |_| config());
    }
}
