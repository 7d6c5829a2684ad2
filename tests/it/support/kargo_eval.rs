//! Kargo's template evaluation, ported so tests can check what a promotion
//! step really receives at runtime.
//!
//! [`evaluate_template`] is Kargo v1.11.2's `EvaluateTemplate` and
//! [`evaluate_json_template`] its `EvaluateJSONTemplate` (how a step's
//! `config` is evaluated, `pkg/promotion/evaluator.go:278-321`), for the subset
//! of expr-lang the generator emits. Ported from, line numbers at those tags:
//!
//! - Kargo v1.11.2 `pkg/expressions/json_templates.go`: `EvaluateJSONTemplate`
//!   and `evaluateExpressions` 46-111, `EvaluateTemplate` 116-211,
//!   `evaluateTemplate` 213-244, `nextExpression` 251-279,
//!   `evaluateExpression` 283-303, `quoteFunc` and `unsafeQuoteFunc` 308-324,
//!   `asJSONFunc` 334-340.
//! - Kargo `pkg/expressions/function/functions.go`: the declared signatures
//!   of `warehouse` 133-135, `imageFrom` 178-191 and `secret` 446-452;
//!   `warehouse` 543-561, `getImageFromFreight` 640-676, `getSecret` 999-1057.
//!   `pkg/controller/freight/finder.go`: `FindImage` 97-165.
//!   `api/v1alpha1/stage_types.go`: `FreightOrigin` 262-273, `Image` 670-681.
//! - expr-lang v1.17.8 (Kargo's go.mod). Lexing: `parser/lexer/state.go`
//!   11-240, `parser/lexer/lexer.go` 180-315, `parser/lexer/utils.go` 15-55 and
//!   110-252. Parsing: `parser/parser.go` 199-321 and 394-906,
//!   `parser/operator/operator.go` 32-65. The type check `expr.Compile` runs
//!   (Kargo declares its functions' Go types, so `imageFrom(..)?.digest`
//!   fails even when the image is nil): `checker/checker.go` 249-603,
//!   996-1173, 1315-1338, `checker/nature/nature.go` 263-277 and 557-573.
//!   Evaluation: `compiler/compiler.go` 447-489, 612-619, 660-759,
//!   `vm/vm.go` 487-496, `vm/runtime/runtime.go` 21-102 and 428-439,
//!   `vm/runtime/helpers[generated].go` `Equal` (11-) and `Add` (2082-).
//!   Error positions: `file/error.go`.
//! - Go 1.26, which the re-typing and `quote()` rest on: `strconv.ParseFloat`
//!   (`atof.go` `special`, `readFloat`, `atofHex`; `atoi.go` `underscoreOK`),
//!   `strconv.ParseBool`, `strconv.Quote` (`quote.go` `appendEscapedRune`,
//!   `IsPrint`), `encoding/json` `Marshal` (`appendString`, `floatEncoder`,
//!   sorted map keys, `MarshalIndent`) and `Unmarshal` into `any`.
//!
//! Supported expressions: string literals (`"…"`, `'…'`, `` `…` ``, with
//! expr-lang's escapes), integer and float literals, `true`, `false`, `nil`,
//! map literals (keys: strings, identifiers, numbers or `(expr)`), arrays,
//! parentheses, environment entries (see [`Env::var`]), `.name`, `?.name`,
//! `[index]`, `?.[index]`, `??`, `+`, `==`, `!=`, `<`, `>`, `<=`, `>=`, `&&`/`and`, `||`/`or`,
//! `!`/`not`, unary `-`/`+`, `//` and `/* */` comments, and calls to `quote`,
//! `unsafeQuote`, `asJSON`, `warehouse`, `imageFrom`, `secret`, the
//! 3-argument `replace`, and in a
//! step's `if` ([`Env::step_if`]) `success` and `failure`. Anything
//! else fails with an error starting with [`UNSUPPORTED`], which marks a limit
//! of this port, not a failure Kargo would report; so does `quote()` of a
//! character above U+00FF that is not a letter, digit or general punctuation
//! (Go's `IsPrint` table is not ported), and a result Kargo would type as a
//! NaN or infinite float64 (JSON cannot hold it).
//!
//! Numbers come back as JSON integers when integral and as floats otherwise:
//! Kargo produces float64s, which Go's `json.Marshal` prints the same way.

// A port of Go: `float64(i)`, `int(f)` and `==` on floats are Go's
// conversions and comparison, reproduced exactly as the evaluator does them.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::float_cmp
)]

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde_json::{Map, Value as Json};

/// How every error that marks a limit of this port starts.
pub(crate) const UNSUPPORTED: &str = "kargo_eval does not support";

fn unsupported(what: impl fmt::Display) -> String {
    format!("{UNSUPPORTED} {what}")
}

// ---------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------

/// What a step's expressions can see: the Freight the Stage requests (by
/// Warehouse) and has promoted, the project's Secrets, and plain environment
/// entries such as `ctx` or `vars`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Env {
    /// The Warehouses the Stage requests Freight from, in request order.
    warehouses: Vec<Warehouse>,
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    vars: BTreeMap<String, Json>,
    /// In a step's `if`: whether an earlier step (not `continueOnError`)
    /// failed; `None` outside an `if`, where `success()` and `failure()` do
    /// not exist.
    failed: Option<bool>,
}

#[derive(Clone, Debug)]
struct Warehouse {
    name: String,
    /// One per image repository the Warehouse subscribes to.
    subscriptions: Vec<Subscription>,
}

#[derive(Clone, Debug)]
struct Subscription {
    repo_url: String,
    /// The image the promoted Freight from this Warehouse holds, if any.
    image: Option<Image>,
}

/// `kargoapi.Image`; its `Annotations` are always empty here.
#[derive(Clone, Debug, PartialEq)]
struct Image {
    repo_url: String,
    tag: String,
    digest: String,
}

impl Env {
    pub(crate) fn new() -> Env {
        Env::default()
    }

    /// The Stage requests Freight from `warehouse`, which subscribes to
    /// `repo`, and the promoted Freight holds `repo` at `tag` and `digest`.
    /// A second call for the same Warehouse and repository replaces the image.
    pub(crate) fn image(mut self, warehouse: &str, repo: &str, tag: &str, digest: &str) -> Env {
        self.subscription_mut(warehouse, repo).image = Some(Image {
            repo_url: repo.to_string(),
            tag: tag.to_string(),
            digest: digest.to_string(),
        });
        self
    }

    /// Like [`Env::image`], but no Freight holding `repo` has been promoted:
    /// `imageFrom(repo, warehouse(..))` is nil, while the subscription still
    /// counts when `imageFrom(repo)` looks for the one Warehouse providing it.
    pub(crate) fn subscription(mut self, warehouse: &str, repo: &str) -> Env {
        self.subscription_mut(warehouse, repo);
        self
    }

    /// A key of a Secret in the project's namespace, as `secret(name)` sees it.
    pub(crate) fn secret(mut self, name: &str, key: &str, value: &str) -> Env {
        let data = self.secrets.entry(name.to_string()).or_default();
        data.insert(key.to_string(), value.to_string());
        self
    }

    /// The environment of a step's `if` after the earlier steps: `failed`
    /// when one of them (not `continueOnError`) failed. Kargo adds
    /// `StatusOperations` there (`pkg/promotion/evaluator.go:245-259`):
    /// `success()` is `!failed`, `failure()` is `failed`
    /// (`pkg/expressions/function/functions.go:488-541`).
    pub(crate) fn step_if(mut self, failed: bool) -> Env {
        self.failed = Some(failed);
        self
    }

    /// A top-level entry of the expression environment (`ctx`, `vars`,
    /// `outputs`…). Objects become Go `map[string]any`s, and numbers Go `int`s
    /// when they fit an i64 and `float64`s otherwise.
    pub(crate) fn var(mut self, name: &str, value: Json) -> Env {
        self.vars.insert(name.to_string(), value);
        self
    }

    fn subscription_mut(&mut self, warehouse: &str, repo: &str) -> &mut Subscription {
        let w = if let Some(w) = self.warehouses.iter().position(|w| w.name == warehouse) {
            w
        } else {
            self.warehouses.push(Warehouse {
                name: warehouse.to_string(),
                subscriptions: Vec::new(),
            });
            self.warehouses.len() - 1
        };
        let subscriptions = &mut self.warehouses[w].subscriptions;
        let s = if let Some(s) = subscriptions.iter().position(|s| s.repo_url == repo) {
            s
        } else {
            subscriptions.push(Subscription {
                repo_url: repo.to_string(),
                image: None,
            });
            subscriptions.len() - 1
        };
        &mut subscriptions[s]
    }

    /// Kargo's `FindImage`: without an origin, the one requested Warehouse
    /// subscribing to `repo_url` (an error when several do).
    fn find_image(&self, repo_url: &str, origin: Option<&str>) -> Result<Option<Image>, String> {
        let origin = if let Some(origin) = origin {
            origin
        } else {
            let mut providers = self.warehouses.iter().flat_map(|w| {
                w.subscriptions
                    .iter()
                    .filter(|s| s.repo_url == repo_url)
                    .map(|_| w.name.as_str())
            });
            let Some(provider) = providers.next() else {
                return Ok(None);
            };
            if providers.next().is_some() {
                return Err(format!(
                    "multiple requested Freight could potentially provide a container \
                     image from repository {repo_url}: please provide a Freight origin to \
                     disambiguate"
                ));
            }
            provider
        };
        Ok(self
            .warehouses
            .iter()
            .filter(|w| w.name == origin)
            .flat_map(|w| &w.subscriptions)
            .find(|s| s.repo_url == repo_url)
            .and_then(|s| s.image.clone()))
    }
}

// ---------------------------------------------------------------------------
// Templates (json_templates.go)
// ---------------------------------------------------------------------------

const DELIMITERS: [(&str, &str); 2] = [("${{", "}}"), ("${%", "%}")];

/// Kargo's `EvaluateTemplate`: substitutes every `${{ }}` / `${% %}`
/// expression, then re-types the result the way Kargo does (a number, a
/// bool, any JSON value, or else the string). A string without delimiters is
/// returned unchanged.
pub(crate) fn evaluate_template(template: &str, env: &Env) -> Result<Json, String> {
    if !DELIMITERS.iter().any(|(start, _)| template.contains(start)) {
        return Ok(Json::String(template.to_string()));
    }
    retype(substitute(template, env)?)
}

/// Kargo's `EvaluateJSONTemplate`, which evaluates a step's `config`: every
/// string value inside the JSON object `json` goes through
/// [`evaluate_template`]; keys are left alone.
pub(crate) fn evaluate_json_template(json: &str, env: &Env) -> Result<Json, String> {
    for reserved in ["quote", "asYAML", "asJSON"] {
        if env.vars.contains_key(reserved) {
            return Err(format!(
                "\"{reserved}\" is a forbidden key in the environment map; it is reserved for \
                 internal use"
            ));
        }
    }
    let not_json =
        |e: String| format!("input is not valid JSON; are all expressions enclosed in quotes? {e}");
    match go_json_unmarshal(json).map_err(not_json)? {
        // Unmarshaling `null` leaves Go's map nil, which marshals to `null`.
        Json::Null => Ok(Json::Null),
        config @ Json::Object(_) => evaluate_values(config, env),
        other => Err(not_json(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        ))),
    }
}

/// `evaluateExpressions`: every string inside objects and arrays is a template.
fn evaluate_values(value: Json, env: &Env) -> Result<Json, String> {
    Ok(match value {
        Json::String(template) => evaluate_template(&template, env)?,
        Json::Array(items) => Json::Array(
            items
                .into_iter()
                .map(|item| evaluate_values(item, env))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(members) => Json::Object(
            members
                .into_iter()
                .map(|(key, value)| Ok((key, evaluate_values(value, env)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other,
    })
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// `evaluateTemplate`: the template with each expression replaced by its
/// value. Like Kargo, an empty expression (`${{}}`) ends the substitution and
/// the rest of the template is copied as it is.
fn substitute(mut template: &str, env: &Env) -> Result<String, String> {
    let mut result = String::new();
    loop {
        let (before, expression, after) = next_expression(template)?;
        result.push_str(before);
        if expression.is_empty() {
            result.push_str(after);
            return Ok(result);
        }
        result.push_str(&evaluate_expression(expression, env)?);
        template = after;
    }
}

/// `nextExpression`: the text before the first expression, the expression,
/// and the text after it. An expression ends at the first closing delimiter,
/// so one containing `}}` is cut short.
fn next_expression(template: &str) -> Result<(&str, &str, &str), String> {
    let first = DELIMITERS
        .iter()
        .filter_map(|&(open, close)| template.find(open).map(|at| (at, open, close)))
        .min_by_key(|&(at, _, _)| at);
    let Some((at, open, close)) = first else {
        return Ok(("", "", template));
    };
    let start = at + open.len();
    let Some(length) = template[start..].find(close) else {
        return Err(format!(
            "unclosed expression: expected \"{close}\" but reached end of template"
        ));
    };
    let end = start + length;
    Ok((
        &template[..at],
        &template[start..end],
        &template[end + close.len()..],
    ))
}

/// A bare expr-lang expression, as the http step runs `successExpression` and
/// `failureExpression` (`expr.Compile` + `expr.Run` on the response env): the
/// result as JSON.
pub(crate) fn evaluate_raw_expression(expression: &str, env: &Env) -> Result<Json, String> {
    let expr = Parser::parse(expression)?;
    check(&expr)?;
    let value = (Evaluator { env }).run(&expr)?;
    let text = go_json(&value, None)?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// `evaluateExpression`: a string result as it is, anything else as JSON.
fn evaluate_expression(expression: &str, env: &Env) -> Result<String, String> {
    let expr = Parser::parse(expression)?;
    check(&expr)?;
    match (Evaluator { env }).run(&expr)? {
        Value::String(s) => Ok(s),
        other => go_json(&other, None),
    }
}

/// The end of `EvaluateTemplate`: strip one trailing newline; a result in
/// double quotes is that string; else a Go float, a Go bool, any JSON value;
/// else the string (newline restored).
fn retype(mut result: String) -> Result<Json, String> {
    let removed_newline = result.ends_with('\n');
    if removed_newline {
        result.pop();
    }
    let restore = |mut s: String| {
        if removed_newline {
            s.push('\n');
        }
        Json::String(s)
    };
    if result.len() > 1 && result.starts_with('"') && result.ends_with('"') {
        return Ok(restore(result[1..result.len() - 1].to_string()));
    }
    if let Ok(number) = go_parse_float(&result) {
        return float_json(number);
    }
    if let Some(b) = go_parse_bool(&result) {
        return Ok(Json::Bool(b));
    }
    if let Ok(value) = go_json_unmarshal(&result) {
        return Ok(value);
    }
    Ok(restore(result))
}

// ---------------------------------------------------------------------------
// Lexer (expr-lang parser/lexer)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Identifier,
    Number,
    String,
    Operator,
    Bracket,
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    value: String,
    /// Offset in runes, for error positions.
    from: usize,
}

impl Token {
    fn is(&self, kind: Kind, value: &str) -> bool {
        self.kind == kind && self.value == value
    }

    fn is_operator(&self, value: &str) -> bool {
        self.is(Kind::Operator, value)
    }
}

/// expr-lang's `Token.String`, as it appears in "unexpected token" errors.
impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let kind = match self.kind {
            Kind::Identifier => "Identifier",
            Kind::Number => "Number",
            Kind::String => "String",
            Kind::Operator => "Operator",
            Kind::Bracket => "Bracket",
            Kind::Eof => "EOF",
        };
        if self.value.is_empty() {
            f.write_str(kind)
        } else {
            write!(f, "{kind}({})", go_quote_lossy(&self.value))
        }
    }
}

/// The tokens of `source`, and the lexing error that stopped it, if any:
/// expr-lang lexes lazily, so the parser meets that error only when it
/// reaches it.
fn lex(source: &str) -> (Vec<Token>, Option<String>) {
    let mut lexer = Lexer {
        source,
        chars: source.chars().collect(),
        start: 0,
        end: 0,
        eof: false,
        tokens: Vec::new(),
    };
    let error = lexer.run().err();
    (lexer.tokens, error)
}

struct Lexer<'a> {
    source: &'a str,
    chars: Vec<char>,
    /// Rune offsets: where the token being scanned starts, and how far it goes.
    start: usize,
    end: usize,
    eof: bool,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    /// The `root` state.
    fn run(&mut self) -> Result<(), String> {
        loop {
            let Some(c) = self.next() else {
                let from = self.end.saturating_sub(1);
                self.tokens.push(Token {
                    kind: Kind::Eof,
                    value: String::new(),
                    from,
                });
                return Ok(());
            };
            match c {
                c if !c.is_ascii() => {
                    return Err(self.error(&unsupported(format!(
                        "the non-ASCII character {c:?} outside a string literal"
                    ))))
                }
                ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r' => self.start = self.end,
                '\'' | '"' => self.string(c)?,
                '`' => self.raw_string()?,
                'b' | 'B' if matches!(self.peek(), Some('\'' | '"')) => {
                    return Err(self.error(&unsupported("bytes literals")))
                }
                '0'..='9' => {
                    self.backup();
                    self.number()?;
                }
                '?' => {
                    self.accept(".?");
                    self.emit(Kind::Operator);
                }
                '/' if self.accept("/") => {
                    while !matches!(self.next(), None | Some('\n')) {}
                    self.start = self.end;
                }
                '/' if self.accept("*") => self.block_comment()?,
                '#' => return Err(self.error(&unsupported("`#` pointers"))),
                '|' | ':' => {
                    self.accept(&c.to_string());
                    self.emit(Kind::Operator);
                }
                '(' | '[' | '{' | ')' | ']' | '}' => self.emit(Kind::Bracket),
                ',' | ';' | '%' | '+' | '-' | '^' | '/' => self.emit(Kind::Operator),
                '&' | '!' | '=' | '*' | '<' | '>' => {
                    self.accept("&=*");
                    self.emit(Kind::Operator);
                }
                '.' => {
                    if self.accept("0123456789") {
                        self.backup();
                        self.number()?;
                    } else {
                        self.accept(".");
                        self.emit(Kind::Operator);
                    }
                }
                c if is_alphanumeric(c) => {
                    self.backup();
                    self.identifier();
                }
                c => return Err(self.error(&format!("unrecognized character: {}", go_sharp_u(c)))),
            }
        }
    }

    fn next(&mut self) -> Option<char> {
        if let Some(&c) = self.chars.get(self.end) {
            self.end += 1;
            Some(c)
        } else {
            self.eof = true;
            None
        }
    }

    fn backup(&mut self) {
        if self.eof {
            self.eof = false;
        } else if self.end > 0 {
            self.end -= 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.end).copied()
    }

    fn accept(&mut self, valid: &str) -> bool {
        if self.peek().is_some_and(|c| valid.contains(c)) {
            self.next();
            true
        } else {
            false
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn word(&self) -> String {
        self.chars[self.start..self.end].iter().collect()
    }

    fn emit(&mut self, kind: Kind) {
        let value = self.word();
        self.emit_value(kind, value);
    }

    fn emit_value(&mut self, kind: Kind, value: String) {
        self.tokens.push(Token {
            kind,
            value,
            from: self.start,
        });
        self.start = self.end;
    }

    fn error(&self, message: &str) -> String {
        let end = self.end + usize::from(self.eof);
        bind(self.source, end.saturating_sub(1), message)
    }

    fn identifier(&mut self) {
        while self.next().is_some_and(is_alphanumeric) {}
        self.backup();
        let kind = match self.word().as_str() {
            "not" | "in" | "or" | "and" | "matches" | "contains" | "startsWith" | "endsWith"
            | "let" | "if" | "else" => Kind::Operator,
            _ => Kind::Identifier,
        };
        self.emit(kind);
    }

    fn number(&mut self) -> Result<(), String> {
        if !self.scan_number() {
            let word = self.word();
            return Err(self.error(&format!("bad number syntax: {}", go_quote_lossy(&word))));
        }
        self.emit(Kind::Number);
        Ok(())
    }

    /// `scanNumber`; the parser makes sense of what it accepts.
    fn scan_number(&mut self) -> bool {
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        let end = self.end;
        if self.accept(".") {
            if self.peek() == Some('.') {
                // `1..2` is a range, not a float.
                self.end = end;
                return true;
            }
            self.accept_run(digits);
        }
        if self.accept("eE") {
            self.accept("+-");
            self.accept_run(digits);
        }
        if self
            .peek()
            .is_some_and(|c| is_alphanumeric(c) || c.is_alphanumeric())
        {
            self.next();
            return false;
        }
        true
    }

    /// `scanString` followed by `unescape`.
    fn string(&mut self, quote: char) -> Result<(), String> {
        let mut c = self.next();
        while c != Some(quote) {
            c = match c {
                None | Some('\n') => return Err(self.error("literal not terminated")),
                Some('\\') => self.escape(quote)?,
                Some(_) => self.next(),
            };
        }
        let value = unescape(&self.word()).map_err(|e| self.error(&e))?;
        self.emit_value(Kind::String, value);
        Ok(())
    }

    /// `scanEscape`: which escapes the lexer lets through. Returns the
    /// character after the escape.
    fn escape(&mut self, quote: char) -> Result<Option<char>, String> {
        match self.next() {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => Ok(self.next()),
            Some(c) if c == quote => Ok(self.next()),
            Some(c @ '0'..='7') => self.digits(Some(c), 8, 3),
            Some('x') => {
                let c = self.next();
                self.digits(c, 16, 2)
            }
            Some('u') if self.peek() == Some('{') => {
                self.next();
                let mut count = 0;
                while self.peek() != Some('}') {
                    if digit_value(self.peek()) >= 16 || count >= 6 {
                        return Err(self.error("invalid char escape"));
                    }
                    self.next();
                    count += 1;
                }
                if count == 0 {
                    return Err(self.error("invalid char escape"));
                }
                self.next();
                Ok(self.next())
            }
            Some('u') => {
                let c = self.next();
                self.digits(c, 16, 4)
            }
            Some('U') => {
                let c = self.next();
                self.digits(c, 16, 8)
            }
            _ => Err(self.error("invalid char escape")),
        }
    }

    /// `scanDigits`: `count` digits in `base`, starting with `c`.
    fn digits(
        &mut self,
        mut c: Option<char>,
        base: u32,
        mut count: u32,
    ) -> Result<Option<char>, String> {
        while count > 0 && digit_value(c) < base {
            c = self.next();
            count -= 1;
        }
        if count > 0 {
            return Err(self.error("invalid char escape"));
        }
        Ok(c)
    }

    /// `scanRawString`: backquotes, with a doubled backquote standing for one.
    fn raw_string(&mut self) -> Result<(), String> {
        let mut value = String::new();
        loop {
            let mut c = self.next();
            while c == Some('`') && self.peek() == Some('`') {
                self.next();
                value.push('`');
                c = self.next();
            }
            match c {
                Some('`') => break,
                Some(c) => value.push(c),
                None => return Err(self.error("literal not terminated")),
            }
        }
        self.emit_value(Kind::String, value);
        Ok(())
    }

    fn block_comment(&mut self) -> Result<(), String> {
        loop {
            match self.next() {
                None => return Err(self.error("unclosed comment")),
                Some('*') if self.accept("/") => break,
                Some(_) => {}
            }
        }
        self.start = self.end;
        Ok(())
    }
}

/// expr-lang's `IsAlphaNumeric` for ASCII; other characters are refused by the lexer.
fn is_alphanumeric(c: char) -> bool {
    c == '_' || c == '$' || c.is_ascii_alphanumeric()
}

/// expr-lang's `IsValidIdentifier`.
fn is_valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c == '$' || c.is_ascii_alphabetic())
        && chars.all(is_alphanumeric)
}

fn digit_value(c: Option<char>) -> u32 {
    c.and_then(|c| c.to_digit(16)).unwrap_or(16)
}

/// expr-lang's `unescape`: the value of a quoted literal, which the lexer has
/// checked already, except for what only this step refuses (an octal escape
/// above \377, a code point above U+10FFFF). Surrogates become U+FFFD.
fn unescape(literal: &str) -> Result<String, String> {
    const UNABLE: &str = "unable to unescape string";
    let literal = literal.replace("\r\n", "\n").replace('\r', "\n");
    let bytes = literal.as_bytes();
    if bytes.len() < 2 || bytes[0] != bytes[bytes.len() - 1] || !matches!(bytes[0], b'"' | b'\'') {
        return Err(UNABLE.into());
    }
    let mut rest = &literal[1..literal.len() - 1];
    let mut value = String::with_capacity(rest.len());
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        if c != '\\' {
            value.push(c);
            continue;
        }
        let Some(escape) = rest.chars().next() else {
            return Err("unable to unescape string, found '\\' as last character".into());
        };
        rest = &rest[escape.len_utf8()..];
        let code = match escape {
            'a' => 0x07,
            'b' => 0x08,
            'f' => 0x0c,
            'n' => 0x0a,
            'r' => 0x0d,
            't' => 0x09,
            'v' => 0x0b,
            '\\' | '\'' | '"' | '`' | '?' => u32::from(escape),
            'u' if rest.starts_with('{') => {
                let hex = &rest[1..];
                let digits = hex
                    .find(|c: char| !c.is_ascii_hexdigit())
                    .unwrap_or(hex.len());
                if digits == 0 || digits > 6 || !hex[digits..].starts_with('}') {
                    return Err(UNABLE.into());
                }
                rest = &hex[digits + 1..];
                u32::from_str_radix(&hex[..digits], 16).map_err(|_| UNABLE)?
            }
            'x' | 'X' | 'u' | 'U' => {
                let n = match escape {
                    'x' | 'X' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex = rest
                    .get(..n)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                let hex = hex.ok_or(UNABLE)?;
                rest = &rest[n..];
                u32::from_str_radix(hex, 16).map_err(|_| UNABLE)?
            }
            '0'..='3' => {
                const OCTAL: &str = "unable to unescape octal sequence in string";
                let digits = rest
                    .get(..2)
                    .filter(|d| d.bytes().all(|b| (b'0'..=b'7').contains(&b)));
                let digits = digits.ok_or(OCTAL)?;
                rest = &rest[2..];
                ((u32::from(escape) - u32::from('0')) << 6)
                    | u32::from_str_radix(digits, 8).map_err(|_| OCTAL)?
            }
            _ => return Err(UNABLE.into()),
        };
        if code > 0x0010_FFFF {
            return Err(UNABLE.into());
        }
        value.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
    }
    Ok(value)
}

// ---------------------------------------------------------------------------
// Parser (expr-lang parser/parser.go)
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Expr {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// An environment entry: `ctx`, `vars`…
    Ident(String),
    Unary(Unary, Box<Expr>),
    Binary(Binary, Box<Expr>, Box<Expr>),
    /// `base.name` (the property is then a `Str`) or `base[property]`;
    /// `optional` for `?.`.
    Member {
        base: Box<Expr>,
        property: Box<Expr>,
        optional: bool,
    },
    /// The extent of a `?.` chain: a nil met by a `?.` in it makes it nil.
    Chain(Box<Expr>),
    Call(Function, Vec<Expr>),
    Array(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
}

#[derive(Clone, Copy, Debug)]
enum Unary {
    Not,
    Negate,
    Plus,
}

#[derive(Clone, Copy, Debug)]
enum Binary {
    Equal,
    NotEqual,
    Less,
    Greater,
    LessEqual,
    GreaterEqual,
    And,
    Or,
    Add,
    Coalesce,
}

impl fmt::Display for Unary {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Unary::Not => "!",
            Unary::Negate => "-",
            Unary::Plus => "+",
        })
    }
}

impl fmt::Display for Binary {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Binary::Equal => "==",
            Binary::NotEqual => "!=",
            Binary::Less => "<",
            Binary::Greater => ">",
            Binary::LessEqual => "<=",
            Binary::GreaterEqual => ">=",
            Binary::And => "&&",
            Binary::Or => "||",
            Binary::Add => "+",
            Binary::Coalesce => "??",
        })
    }
}

/// The functions this port knows; Kargo has more, and expr-lang its builtins.
#[derive(Clone, Copy, Debug)]
enum Function {
    Quote,
    UnsafeQuote,
    AsJson,
    Warehouse,
    ImageFrom,
    Secret,
    Success,
    Failure,
    /// expr-lang's builtin `replace(str, old, new)`: `strings.ReplaceAll`
    /// (expr-lang v1.17.8, the version Kargo v1.11.2's go.mod:59 pins,
    /// builtin/builtin.go:296-311): every non-overlapping occurrence, left
    /// to right, of `old` taken literally (no regex). Kargo registers no
    /// function of that name (pkg/expressions/function/functions.go,
    /// pkg/expressions/json_templates.go:136-157), so the builtin is the one
    /// called.
    Replace,
}

impl Function {
    fn from_name(name: &str) -> Option<Function> {
        Some(match name {
            "success" => Function::Success,
            "failure" => Function::Failure,
            "quote" => Function::Quote,
            "unsafeQuote" => Function::UnsafeQuote,
            "asJSON" => Function::AsJson,
            "warehouse" => Function::Warehouse,
            "imageFrom" => Function::ImageFrom,
            "secret" => Function::Secret,
            "replace" => Function::Replace,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Function::Quote => "quote",
            Function::UnsafeQuote => "unsafeQuote",
            Function::AsJson => "asJSON",
            Function::Warehouse => "warehouse",
            Function::ImageFrom => "imageFrom",
            Function::Secret => "secret",
            Function::Success => "success",
            Function::Failure => "failure",
            Function::Replace => "replace",
        }
    }
}

/// Binary operators: precedence, and whether right-associative (operator.go).
fn binary_precedence(operator: &str) -> Option<(u16, bool)> {
    Some(match operator {
        "|" => (0, false),
        "or" | "||" => (10, false),
        "and" | "&&" => (15, false),
        "==" | "!=" | "<" | ">" | ">=" | "<=" | "in" | "matches" | "contains" | "startsWith"
        | "endsWith" => (20, false),
        ".." => (25, false),
        "+" | "-" => (30, false),
        "*" | "/" | "%" => (60, false),
        "**" | "^" => (100, true),
        "??" => (500, false),
        _ => return None,
    })
}

fn unary_precedence(operator: &str) -> Option<u16> {
    match operator {
        "not" | "!" => Some(50),
        "-" | "+" => Some(90),
        _ => None,
    }
}

struct Parser<'a> {
    source: &'a str,
    tokens: std::vec::IntoIter<Token>,
    lex_error: Option<String>,
    current: Token,
}

impl Parser<'_> {
    fn parse(source: &str) -> Result<Expr, String> {
        let (tokens, lex_error) = lex(source);
        let mut parser = Parser {
            source,
            tokens: tokens.into_iter(),
            lex_error,
            current: Token {
                kind: Kind::Eof,
                value: String::new(),
                from: 0,
            },
        };
        parser.next()?;
        let expr = parser.sequence()?;
        if parser.current.kind != Kind::Eof {
            return Err(parser.unexpected());
        }
        Ok(expr)
    }

    fn next(&mut self) -> Result<(), String> {
        match self.tokens.next() {
            Some(token) => {
                self.current = token;
                Ok(())
            }
            None => Err(self
                .lex_error
                .clone()
                .unwrap_or_else(|| self.error("unexpected end of expression"))),
        }
    }

    fn expect(&mut self, kind: Kind, value: &str) -> Result<(), String> {
        if self.current.is(kind, value) {
            self.next()
        } else {
            Err(self.unexpected())
        }
    }

    fn error(&self, message: &str) -> String {
        bind(self.source, self.current.from, message)
    }

    fn unexpected(&self) -> String {
        self.error(&format!("unexpected token {}", self.current))
    }

    fn unsupported(&self, what: impl fmt::Display) -> String {
        self.error(&unsupported(what))
    }

    /// `parseSequenceExpression`: one expression, maybe with a trailing `;`.
    fn sequence(&mut self) -> Result<Expr, String> {
        let expr = self.expression(0)?;
        if self.current.is_operator(";") {
            self.next()?;
            if self.current.kind != Kind::Eof {
                return Err(self.unsupported("sequences of expressions"));
            }
        }
        Ok(expr)
    }

    /// `parseExpression`: precedence climbing over the binary operators.
    fn expression(&mut self, precedence: u16) -> Result<Expr, String> {
        if precedence == 0 && (self.current.is_operator("let") || self.current.is_operator("if")) {
            return Err(self.unsupported(format!("`{}` expressions", self.current.value)));
        }
        let mut left = self.primary()?;
        let mut previous: Option<String> = None;
        while self.current.kind == Kind::Operator {
            let token = self.current.clone();
            if token.value == "not" {
                return Err(self.unsupported("`not in` and the like"));
            }
            let Some((token_precedence, right_associative)) = binary_precedence(&token.value)
            else {
                break;
            };
            if token_precedence < precedence {
                break;
            }
            self.next()?;
            let at = |message: &str| bind(self.source, token.from, message);
            if previous.as_deref() == Some("??") && token.value != "??" {
                return Err(at(&format!(
                    "Operator ({}) and coalesce expressions (??) cannot be mixed. Wrap either by \
                     parentheses.",
                    token.value
                )));
            }
            let op = match token.value.as_str() {
                "==" => Binary::Equal,
                "!=" => Binary::NotEqual,
                "<" => Binary::Less,
                ">" => Binary::Greater,
                "<=" => Binary::LessEqual,
                ">=" => Binary::GreaterEqual,
                "&&" | "and" => Binary::And,
                "||" | "or" => Binary::Or,
                "+" => Binary::Add,
                "??" => Binary::Coalesce,
                other => return Err(at(&unsupported(format!("the `{other}` operator")))),
            };
            let next_precedence = if right_associative {
                token_precedence
            } else {
                token_precedence + 1
            };
            let right = self.expression(next_precedence)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
            previous = Some(token.value);
        }
        if precedence == 0 && self.current.is_operator("?") {
            return Err(self.unsupported("the `?:` conditional"));
        }
        Ok(left)
    }

    /// `parsePrimary`: unary operators, parentheses, or a `secondary`.
    fn primary(&mut self) -> Result<Expr, String> {
        let token = self.current.clone();
        if token.kind == Kind::Operator {
            if let Some(precedence) = unary_precedence(&token.value) {
                self.next()?;
                let operand = self.expression(precedence)?;
                let op = match token.value.as_str() {
                    "-" => Unary::Negate,
                    "+" => Unary::Plus,
                    _ => Unary::Not,
                };
                return self.postfix(Expr::Unary(op, Box::new(operand)));
            }
            if token.value == "::" {
                return Err(self.unsupported("`::` calls"));
            }
        }
        if token.is(Kind::Bracket, "(") {
            self.next()?;
            let inner = self.sequence()?;
            self.expect(Kind::Bracket, ")")?;
            return self.postfix(inner);
        }
        self.secondary()
    }

    /// `parseSecondary`: literals, names and calls. Like expr-lang, no
    /// postfix after `true`, `false`, `nil` or a number.
    fn secondary(&mut self) -> Result<Expr, String> {
        let token = self.current.clone();
        let expr = match token.kind {
            Kind::Identifier => {
                self.next()?;
                match token.value.as_str() {
                    "true" => return Ok(Expr::Bool(true)),
                    "false" => return Ok(Expr::Bool(false)),
                    "nil" => return Ok(Expr::Nil),
                    _ if self.current.is(Kind::Bracket, "(") => self.call(&token)?,
                    _ => Expr::Ident(token.value),
                }
            }
            Kind::Number => {
                self.next()?;
                return self.number(&token);
            }
            Kind::String => {
                self.next()?;
                Expr::Str(token.value)
            }
            Kind::Bracket if token.value == "[" => self.array()?,
            Kind::Bracket if token.value == "{" => self.map()?,
            _ => return Err(self.unexpected()),
        };
        self.postfix(expr)
    }

    fn number(&self, token: &Token) -> Result<Expr, String> {
        let value = token.value.replace('_', "");
        let lower = value.to_ascii_lowercase();
        let fail = |what: &str, function: &str, reason: &str| {
            bind(
                self.source,
                token.from,
                &format!(
                    "invalid {what} literal: strconv.{function}: parsing {}: {reason}",
                    go_quote_lossy(&value)
                ),
            )
        };
        let int = |digits: &str, radix: u32, what: &str| {
            i64::from_str_radix(digits, radix)
                .map(Expr::Int)
                .map_err(|e| {
                    let reason = match e.kind() {
                        std::num::IntErrorKind::PosOverflow => "value out of range",
                        _ => "invalid syntax",
                    };
                    fail(what, "ParseInt", reason)
                })
        };
        if lower.starts_with("0x") {
            int(&value[2..], 16, "hex")
        } else if lower.contains(['.', 'e']) {
            go_parse_float(&value)
                .map(Expr::Float)
                .map_err(|reason| fail("float", "ParseFloat", reason))
        } else if lower.starts_with("0b") {
            int(&value[2..], 2, "binary")
        } else if lower.starts_with("0o") {
            int(&value[2..], 8, "octal")
        } else {
            int(&value, 10, "integer")
        }
    }

    /// `parseCall`, for the functions this port knows.
    fn call(&mut self, name: &Token) -> Result<Expr, String> {
        let Some(function) = Function::from_name(&name.value) else {
            let what = unsupported(format!("calling `{}`", name.value));
            return Err(bind(self.source, name.from, &what));
        };
        self.expect(Kind::Bracket, "(")?;
        let mut arguments = Vec::new();
        while !self.current.is(Kind::Bracket, ")") {
            if !arguments.is_empty() {
                self.expect(Kind::Operator, ",")?;
            }
            if self.current.is(Kind::Bracket, ")") {
                break;
            }
            arguments.push(self.expression(0)?);
        }
        self.expect(Kind::Bracket, ")")?;
        if matches!(function, Function::Replace) && arguments.len() == 4 {
            // expr-lang's `replace(str, old, new, n)` is `strings.Replace`
            // (builtin/builtin.go:299-300 at v1.17.8): not ported, and not
            // a type error either, so it is refused as unsupported.
            let what = unsupported("the 4-argument `replace`");
            return Err(bind(self.source, name.from, &what));
        }
        Ok(Expr::Call(function, arguments))
    }

    fn array(&mut self) -> Result<Expr, String> {
        self.expect(Kind::Bracket, "[")?;
        let mut items = Vec::new();
        while !self.current.is(Kind::Bracket, "]") {
            if !items.is_empty() {
                self.expect(Kind::Operator, ",")?;
                if self.current.is(Kind::Bracket, "]") {
                    break;
                }
            }
            items.push(self.expression(0)?);
        }
        self.expect(Kind::Bracket, "]")?;
        Ok(Expr::Array(items))
    }

    fn map(&mut self) -> Result<Expr, String> {
        self.expect(Kind::Bracket, "{")?;
        let mut pairs = Vec::new();
        while !self.current.is(Kind::Bracket, "}") {
            if !pairs.is_empty() {
                self.expect(Kind::Operator, ",")?;
                if self.current.is(Kind::Bracket, "}") {
                    break;
                }
                if self.current.is_operator(",") {
                    return Err(self.unexpected());
                }
            }
            let key = match self.current.kind {
                Kind::Number | Kind::String | Kind::Identifier => {
                    let key = Expr::Str(self.current.value.clone());
                    self.next()?;
                    key
                }
                Kind::Bracket if self.current.value == "(" => self.expression(0)?,
                _ => {
                    return Err(self.error(&format!(
                        "a map key must be a quoted string, a number, a identifier, or an \
                         expression enclosed in parentheses (unexpected token {})",
                        self.current
                    )))
                }
            };
            self.expect(Kind::Operator, ":")?;
            pairs.push((key, self.expression(0)?));
        }
        self.expect(Kind::Bracket, "}")?;
        Ok(Expr::Map(pairs))
    }

    /// `parsePostfixExpression`: `.name`, `?.name`, `[index]`, `?.[index]`.
    /// Only `.name` extends a `?.` chain: `a?.b["c"]` indexes the chain's
    /// value, nil or not.
    fn postfix(&mut self, mut expr: Expr) -> Result<Expr, String> {
        while matches!(self.current.kind, Kind::Operator | Kind::Bracket) {
            let optional = self.current.value == "?.";
            if self.current.value == "." || optional {
                self.next()?;
                if !(optional && self.current.is(Kind::Bracket, "[")) {
                    let name = self.current.clone();
                    self.next()?;
                    let is_name = name.kind == Kind::Identifier
                        || name.kind == Kind::Operator && is_valid_identifier(&name.value);
                    if !is_name {
                        return Err(self.error("expected name"));
                    }
                    if self.current.is(Kind::Bracket, "(") {
                        return Err(self.unsupported("method calls"));
                    }
                    let (base, chained) = match expr {
                        Expr::Chain(inner) => (*inner, true),
                        other => (other, false),
                    };
                    let member = Expr::Member {
                        base: Box::new(base),
                        property: Box::new(Expr::Str(name.value)),
                        optional,
                    };
                    expr = if chained || optional {
                        Expr::Chain(Box::new(member))
                    } else {
                        member
                    };
                    continue;
                }
            } else if !self.current.is(Kind::Bracket, "[") {
                break;
            }
            // An index: `[` is the current token.
            self.next()?;
            if self.current.is_operator(":") {
                return Err(self.unsupported("slices"));
            }
            let index = self.expression(0)?;
            if self.current.is_operator(":") {
                return Err(self.unsupported("slices"));
            }
            self.expect(Kind::Bracket, "]")?;
            let member = Expr::Member {
                base: Box::new(expr),
                property: Box::new(index),
                optional,
            };
            expr = if optional {
                Expr::Chain(Box::new(member))
            } else {
                member
            };
        }
        Ok(expr)
    }
}

// ---------------------------------------------------------------------------
// Type check (expr-lang checker/checker.go)
// ---------------------------------------------------------------------------

/// What expr-lang's checker knows of a value at compile time. Kargo passes
/// its environment only at run time, so environment entries are `Unknown`;
/// function results have the Go types Kargo declares.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Unknown,
    Nil,
    Bool,
    Int,
    Float,
    String,
    /// `[]any`, with what the checker knows of its elements.
    Array(Box<Ty>),
    /// `map[string]any`
    Map,
    /// `map[string]string`
    StringMap,
    /// `v1alpha1.Image`
    Image,
    /// `v1alpha1.FreightOrigin`
    Origin,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Ty::Unknown => "unknown",
            Ty::Nil => "nil",
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Float => "float64",
            Ty::String => "string",
            Ty::Array(_) => "[]interface {}",
            Ty::Map => "map[string]interface {}",
            Ty::StringMap => "map[string]string",
            Ty::Image => "v1alpha1.Image",
            Ty::Origin => "v1alpha1.FreightOrigin",
        })
    }
}

impl Ty {
    fn is_number(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    fn is_unknown(&self) -> bool {
        *self == Ty::Unknown
    }

    /// Go's `reflect.Kind`, which decides whether array elements share a type.
    fn kind(&self) -> u8 {
        match self {
            Ty::Unknown | Ty::Nil => 0,
            Ty::Bool => 1,
            Ty::Int => 2,
            Ty::Float => 3,
            Ty::String => 4,
            Ty::Array(_) => 5,
            Ty::Map | Ty::StringMap => 6,
            Ty::Image | Ty::Origin => 7,
        }
    }
}

/// A parameter type of a Kargo function.
#[derive(Clone, Copy)]
enum Param {
    Any,
    String,
    Origin,
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Param::Any => "interface {}",
            Param::String => "string",
            Param::Origin => "v1alpha1.FreightOrigin",
        })
    }
}

impl Function {
    /// The Go signatures Kargo declares, overloads in order, and the result.
    fn signature(self) -> (&'static [&'static [Param]], Ty) {
        match self {
            Function::Quote | Function::UnsafeQuote | Function::AsJson => {
                (&[&[Param::Any]], Ty::String)
            }
            Function::Warehouse => (&[&[Param::String]], Ty::Origin),
            Function::ImageFrom => (
                &[&[Param::String, Param::Origin], &[Param::String]],
                Ty::Image,
            ),
            Function::Secret => (&[&[Param::String]], Ty::StringMap),
            Function::Success | Function::Failure => (&[&[]], Ty::Bool),
            Function::Replace => (
                &[&[Param::String, Param::String, Param::String]],
                Ty::String,
            ),
        }
    }
}

/// The functions Kargo registers and expr-lang's builtins: the checker types
/// their bare names as functions.
const FUNCTION_NAMES: &str = "\
    quote unsafeQuote asYAML asJSON warehouse commitFrom imageFrom chartFrom artifactFrom \
    freightMetadata stageMetadata configMap sharedConfigMap secret sharedSecret semverDiff \
    semverParse always failure success status all none any one filter map find findIndex \
    findLast findLastIndex count sum groupBy sortBy reduce len type abs ceil floor round int \
    float string trim trimPrefix trimSuffix upper lower split splitAfter replace repeat join \
    indexOf lastIndexOf hasPrefix hasSuffix max min mean median toJSON fromJSON toBase64 \
    fromBase64 now duration date timezone first last get take keys values toPairs fromPairs \
    reverse uniq concat flatten sort bitnot bitand bitor bitxor bitnand bitshl bitshr bitushr";

/// The checker's verdict on `expr`: its type, or the error `expr.Compile`
/// would report before anything runs.
fn check(expr: &Expr) -> Result<Ty, String> {
    Ok(match expr {
        Expr::Nil => Ty::Nil,
        Expr::Bool(_) => Ty::Bool,
        Expr::Int(_) => Ty::Int,
        Expr::Float(_) => Ty::Float,
        Expr::Str(_) => Ty::String,
        Expr::Ident(name) if name == "$env" => return Err(unsupported("`$env`")),
        Expr::Ident(name) if FUNCTION_NAMES.split_whitespace().any(|f| f == name) => {
            return Err(unsupported(format!(
                "using the function `{name}` as a value"
            )))
        }
        Expr::Ident(_) => Ty::Unknown,
        Expr::Unary(op, operand) => check_unary(*op, check(operand)?)?,
        Expr::Binary(op, left, right) => check_binary(*op, check(left)?, check(right)?)?,
        Expr::Chain(inner) => check(inner)?,
        Expr::Member { base, property, .. } => {
            check_member(check(base)?, property, &check(property)?)?
        }
        Expr::Call(function, arguments) => {
            let arguments = arguments.iter().map(check).collect::<Result<Vec<_>, _>>()?;
            check_call(*function, &arguments)?
        }
        Expr::Array(items) => {
            let items = items.iter().map(check).collect::<Result<Vec<_>, _>>()?;
            let same_kind = items
                .windows(2)
                .all(|pair| pair[0].kind() == pair[1].kind());
            let element = match items.last() {
                Some(last) if same_kind => last.clone(),
                _ => Ty::Unknown,
            };
            Ty::Array(Box::new(element))
        }
        Expr::Map(pairs) => {
            for (key, value) in pairs {
                check(key)?;
                check(value)?;
            }
            Ty::Map
        }
    })
}

fn check_unary(op: Unary, operand: Ty) -> Result<Ty, String> {
    match op {
        Unary::Not if operand == Ty::Bool || operand.is_unknown() => Ok(Ty::Bool),
        Unary::Negate | Unary::Plus if operand.is_number() || operand.is_unknown() => Ok(operand),
        _ => Err(format!(
            "invalid operation: {op} (mismatched type {operand})"
        )),
    }
}

fn check_binary(op: Binary, left: Ty, right: Ty) -> Result<Ty, String> {
    let unknown = left.is_unknown() || right.is_unknown();
    let result = match op {
        Binary::Equal | Binary::NotEqual => {
            let comparable = unknown
                || left == Ty::Nil
                || right == Ty::Nil
                || left.is_number() && right.is_number()
                || matches!((&left, &right), (Ty::Array(_), Ty::Array(_)))
                || left == right;
            comparable.then_some(Ty::Bool)
        }
        Binary::Less | Binary::Greater | Binary::LessEqual | Binary::GreaterEqual => {
            let numbers = (left.is_number() || left.is_unknown())
                && (right.is_number() || right.is_unknown());
            let strings = left == Ty::String && right == Ty::String;
            (numbers || strings).then_some(Ty::Bool)
        }
        Binary::And | Binary::Or => {
            let boolish = |t: &Ty| *t == Ty::Bool || t.is_unknown();
            (boolish(&left) && boolish(&right)).then_some(Ty::Bool)
        }
        Binary::Add => {
            let addable = |t: &Ty| t.is_number() || *t == Ty::String || t.is_unknown();
            if left.is_number() && right.is_number() {
                Some(if left == Ty::Float || right == Ty::Float {
                    Ty::Float
                } else {
                    Ty::Int
                })
            } else if left == Ty::String && right == Ty::String {
                Some(Ty::String)
            } else if unknown && addable(&left) && addable(&right) {
                Some(Ty::Unknown)
            } else {
                None
            }
        }
        Binary::Coalesce => {
            return Ok(match (left == Ty::Nil, right == Ty::Nil) {
                (true, false) => right,
                (false, false) if left != right => Ty::Unknown,
                _ => left,
            })
        }
    };
    result.ok_or_else(|| format!("invalid operation: {op} (mismatched types {left} and {right})"))
}

fn check_member(base: Ty, property: &Expr, property_ty: &Ty) -> Result<Ty, String> {
    let name = match property {
        Expr::Str(name) => Some(name.as_str()),
        _ => None,
    };
    let missing = |base: &Ty| match name {
        Some(name) => format!("type {base} has no field {name}"),
        None => format!("type {base}[{property_ty}] is undefined"),
    };
    match base {
        Ty::Unknown => Ok(Ty::Unknown),
        Ty::Map | Ty::StringMap => {
            if *property_ty != Ty::String && !property_ty.is_unknown() {
                return Err(format!(
                    "cannot use {property_ty} to get an element from {base}"
                ));
            }
            Ok(if base == Ty::Map {
                Ty::Unknown
            } else {
                Ty::String
            })
        }
        Ty::Array(element) => {
            if *property_ty != Ty::Int && !property_ty.is_unknown() {
                return Err(format!(
                    "array elements can only be selected using an integer (got {property_ty})"
                ));
            }
            Ok(*element)
        }
        Ty::Image => match name {
            Some("RepoURL" | "Tag" | "Digest") => Ok(Ty::String),
            Some("Annotations") => Ok(Ty::StringMap),
            _ => Err(missing(&base)),
        },
        Ty::Origin => match name {
            Some("Name") => Ok(Ty::String),
            Some("Kind") => Err(unsupported(ORIGIN_KIND)),
            _ => Err(missing(&base)),
        },
        other => Err(missing(&other)),
    }
}

/// `checkFunction`: the first overload the arguments fit, else the last
/// overload's complaint.
fn check_call(function: Function, arguments: &[Ty]) -> Result<Ty, String> {
    let (overloads, result) = function.signature();
    let name = function.name();
    let mut error = String::new();
    for params in overloads {
        match check_arguments(name, params, arguments) {
            Ok(()) => return Ok(result),
            Err(e) => error = e,
        }
    }
    Err(error)
}

fn check_arguments(name: &str, params: &[Param], arguments: &[Ty]) -> Result<(), String> {
    if arguments.len() > params.len() {
        return Err(format!("too many arguments to call {name}"));
    }
    if arguments.len() < params.len() {
        return Err(format!("not enough arguments to call {name}"));
    }
    for (argument, param) in arguments.iter().zip(params) {
        let fits = match (argument, param) {
            (_, Param::Any)
            | (Ty::Unknown, _)
            | (Ty::String, Param::String)
            | (Ty::Origin, Param::Origin) => true,
            (Ty::Nil, _) => {
                return Err(format!(
                    "cannot use nil as argument (type {param}) to call {name}"
                ))
            }
            _ => false,
        };
        if !fits {
            return Err(format!(
                "cannot use {argument} as argument (type {param}) to call {name} "
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Evaluation (expr-lang compiler and vm)
// ---------------------------------------------------------------------------

/// A Go value as the expr-lang VM holds it.
#[derive(Clone, Debug)]
enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Array(Vec<Value>),
    /// `map[string]any`: a missing key reads as nil.
    Map(BTreeMap<String, Value>),
    /// `map[string]string`, what `secret()` returns: a missing key reads as "".
    StringMap(BTreeMap<String, String>),
    /// `*kargoapi.Image`, what `imageFrom()` returns; `None` is its nil.
    Image(Option<Image>),
    /// `kargoapi.FreightOrigin{Kind: "Warehouse", Name}`
    Origin(String),
}

impl Value {
    fn from_json(json: &Json) -> Value {
        match json {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => n
                .as_i64()
                .map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Value::from_json).collect()),
            Json::Object(members) => Value::Map(
                members
                    .iter()
                    .map(|(key, value)| (key.clone(), Value::from_json(value)))
                    .collect(),
            ),
        }
    }

    /// `runtime.IsNil`.
    fn is_nil(&self) -> bool {
        matches!(self, Value::Nil | Value::Image(None))
    }

    /// Go's `%T`.
    fn go_type(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Array(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::StringMap(_) => "map[string]string",
            Value::Image(_) => "*v1alpha1.Image",
            Value::Origin(_) => "v1alpha1.FreightOrigin",
        }
    }

    /// Roughly Go's `%v`, for error messages.
    fn go_display(&self) -> String {
        match self {
            Value::String(s) => s.clone(),
            Value::Nil => "<nil>".to_string(),
            other => go_json(other, None).unwrap_or_else(|_| format!("{other:?}")),
        }
    }

    /// expr-lang's `ToInt`, for array indexes.
    fn to_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) => Some(*f as i64),
            _ => None,
        }
    }

    /// The members `json.Marshal` writes for an object, in its order: sorted
    /// keys for maps, declaration order (with `omitempty`) for structs.
    fn json_members(&self) -> Vec<(String, Value)> {
        let string = |s: &str| Value::String(s.to_string());
        match self {
            Value::Map(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Value::StringMap(map) => map.iter().map(|(k, v)| (k.clone(), string(v))).collect(),
            Value::Image(Some(image)) => [
                ("repoURL", &image.repo_url),
                ("tag", &image.tag),
                ("digest", &image.digest),
            ]
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key.to_string(), string(value)))
            .collect(),
            Value::Origin(name) => vec![
                ("kind".to_string(), string("Warehouse")),
                ("name".to_string(), string(name)),
            ],
            _ => Vec::new(),
        }
    }
}

/// Why evaluation stopped: a nil met by `?.` (caught by the enclosing
/// chain), or an error.
enum Stop {
    NilChain,
    Failed(String),
}

impl From<String> for Stop {
    fn from(error: String) -> Stop {
        Stop::Failed(error)
    }
}

struct Evaluator<'a> {
    env: &'a Env,
}

impl Evaluator<'_> {
    fn run(&self, expr: &Expr) -> Result<Value, String> {
        match self.eval(expr) {
            Ok(value) => Ok(value),
            Err(Stop::NilChain) => Ok(Value::Nil),
            Err(Stop::Failed(error)) => Err(error),
        }
    }

    fn eval(&self, expr: &Expr) -> Result<Value, Stop> {
        Ok(match expr {
            Expr::Nil => Value::Nil,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => Value::String(s.clone()),
            Expr::Ident(name) => self.env.vars.get(name).map_or(Value::Nil, Value::from_json),
            Expr::Unary(op, operand) => unary(*op, self.eval(operand)?)?,
            Expr::Binary(Binary::And, left, right) => {
                if as_bool(self.eval(left)?)? {
                    self.eval(right)?
                } else {
                    Value::Bool(false)
                }
            }
            Expr::Binary(Binary::Or, left, right) => {
                if as_bool(self.eval(left)?)? {
                    Value::Bool(true)
                } else {
                    self.eval(right)?
                }
            }
            Expr::Binary(Binary::Coalesce, left, right) => {
                let left = self.eval(left)?;
                if left.is_nil() {
                    self.eval(right)?
                } else {
                    left
                }
            }
            Expr::Binary(Binary::Equal, left, right) => {
                Value::Bool(go_equal(&self.eval(left)?, &self.eval(right)?))
            }
            Expr::Binary(Binary::NotEqual, left, right) => {
                Value::Bool(!go_equal(&self.eval(left)?, &self.eval(right)?))
            }
            Expr::Binary(Binary::Add, left, right) => go_add(self.eval(left)?, self.eval(right)?)?,
            Expr::Binary(
                op @ (Binary::Less | Binary::Greater | Binary::LessEqual | Binary::GreaterEqual),
                left,
                right,
            ) => go_compare(*op, &self.eval(left)?, &self.eval(right)?)?,
            Expr::Chain(inner) => match self.eval(inner) {
                Err(Stop::NilChain) => Value::Nil,
                Ok(value) if value.is_nil() => Value::Nil,
                other => other?,
            },
            Expr::Member {
                base,
                property,
                optional,
            } => {
                let base = self.eval(base)?;
                if *optional && base.is_nil() {
                    return Err(Stop::NilChain);
                }
                fetch(&base, &self.eval(property)?)?
            }
            Expr::Call(function, arguments) => {
                let arguments = arguments
                    .iter()
                    .map(|argument| self.eval(argument))
                    .collect::<Result<Vec<_>, _>>()?;
                self.call(*function, arguments)?
            }
            Expr::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.eval(item))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Map(pairs) => {
                let mut map = BTreeMap::new();
                for (key, value) in pairs {
                    let key = match self.eval(key)? {
                        Value::String(key) => key,
                        other => {
                            return Err(Stop::Failed(format!(
                                "interface conversion: interface {{}} is {}, not string",
                                other.go_type()
                            )))
                        }
                    };
                    let value = self.eval(value)?;
                    // The VM builds the map from the last pair back: the first duplicate wins.
                    map.entry(key).or_insert(value);
                }
                Value::Map(map)
            }
        })
    }

    fn call(&self, function: Function, arguments: Vec<Value>) -> Result<Value, String> {
        let mut arguments = arguments.into_iter();
        let first = arguments.next().unwrap_or(Value::Nil);
        let must_be_string =
            |value: &Value| format!("argument must be string, got {}", value.go_type());
        Ok(match function {
            Function::Quote => match first {
                Value::String(s) => Value::String(go_quote(&s)?),
                other => unsafe_quote(&other)?,
            },
            Function::UnsafeQuote => unsafe_quote(&first)?,
            Function::AsJson => {
                let json = go_json(&first, Some(0))
                    .map_err(|e| format!("error applying asJSON() function: {e}"))?;
                Value::String(format!("\"{json}\n\""))
            }
            Function::Warehouse => match first {
                Value::String(name) if name.is_empty() => {
                    return Err("name must not be empty".into())
                }
                Value::String(name) => Value::Origin(name),
                other => return Err(must_be_string(&other)),
            },
            Function::ImageFrom => {
                let Value::String(repo_url) = first else {
                    return Err(format!(
                        "first argument must be string, got {}",
                        first.go_type()
                    ));
                };
                let origin = match arguments.next() {
                    None => None,
                    Some(Value::Origin(name)) => Some(name),
                    Some(other) => {
                        return Err(format!(
                            "second argument must be FreightOrigin, got {}",
                            other.go_type()
                        ))
                    }
                };
                Value::Image(self.env.find_image(&repo_url, origin.as_deref())?)
            }
            Function::Secret => match first {
                Value::String(name) => {
                    Value::StringMap(self.env.secrets.get(&name).cloned().unwrap_or_default())
                }
                other => return Err(must_be_string(&other)),
            },
            Function::Success | Function::Failure => {
                let Some(failed) = self.env.failed else {
                    return Err(format!(
                        "unknown name {}: only a step's `if` has it",
                        function.name()
                    ));
                };
                Value::Bool(matches!(function, Function::Failure) == failed)
            }
            Function::Replace => {
                let (Value::String(s), Some(Value::String(old)), Some(Value::String(new))) =
                    (first, arguments.next(), arguments.next())
                else {
                    return Err("replace: arguments must be strings".into());
                };
                // Rust's `str::replace` is Go's `strings.ReplaceAll`: literal,
                // leftmost non-overlapping matches, and an empty `old` matches
                // before each character and at the end (pinned by the
                // `replace_is_strings_replace_all` test).
                Value::String(s.replace(&old, &new))
            }
        })
    }
}

/// `unsafeQuoteFunc`: the JSON of `value`, in double quotes.
fn unsafe_quote(value: &Value) -> Result<Value, String> {
    let json = go_json(value, None).map_err(|e| format!("error applying quote() function: {e}"))?;
    Ok(Value::String(format!("\"{json}\"")))
}

/// The VM's `.(bool)` assertion, made by `!`, `&&` and `||`.
fn as_bool(value: Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(format!(
            "interface conversion: interface {{}} is {}, not bool",
            other.go_type()
        )),
    }
}

fn unary(op: Unary, value: Value) -> Result<Value, String> {
    match (op, value) {
        (Unary::Not, value) => Ok(Value::Bool(!as_bool(value)?)),
        (Unary::Negate, Value::Int(i)) => Ok(Value::Int(i.wrapping_neg())),
        (Unary::Negate, Value::Float(f)) => Ok(Value::Float(-f)),
        (Unary::Negate, other) => Err(format!("invalid operation: - {}", other.go_type())),
        (Unary::Plus, value) => Ok(value),
    }
}

/// `runtime.Add`.
fn go_add(left: Value, right: Value) -> Result<Value, String> {
    Ok(match (left, right) {
        (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_add(b)),
        (Value::Int(a), Value::Float(b)) => Value::Float(a as f64 + b),
        (Value::Float(a), Value::Int(b)) => Value::Float(a + b as f64),
        (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
        (Value::String(a), Value::String(b)) => Value::String(a + &b),
        (a, b) => {
            return Err(format!(
                "invalid operation: {} + {}",
                a.go_type(),
                b.go_type()
            ))
        }
    })
}

/// `runtime.Less` and friends: numbers across int and float, or two strings.
fn go_compare(op: Binary, a: &Value, b: &Value) -> Result<Value, String> {
    let ordering = match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::String(x), Value::String(y)) => x.partial_cmp(y),
        _ => {
            return Err(format!(
                "invalid operation: {} {op} {}",
                a.go_type(),
                b.go_type()
            ))
        }
    };
    let Some(o) = ordering else {
        return Ok(Value::Bool(false));
    };
    Ok(Value::Bool(match op {
        Binary::Less => o.is_lt(),
        Binary::Greater => o.is_gt(),
        Binary::LessEqual => o.is_le(),
        _ => o.is_ge(),
    }))
}

/// `runtime.Equal`: numbers across int and float, arrays element by element,
/// two nils, else `reflect.DeepEqual`.
fn go_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(x), Value::Float(y)) => *x as f64 == *y,
        (Value::Float(x), Value::Int(y)) => *x == *y as f64,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| go_equal(a, b))
        }
        _ => (a.is_nil() && b.is_nil()) || deep_equal(a, b),
    }
}

/// `reflect.DeepEqual`: the same Go type and equal contents.
fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) | (Value::Origin(x), Value::Origin(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| deep_equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::StringMap(x), Value::StringMap(y)) => x == y,
        (Value::Image(x), Value::Image(y)) => x == y,
        _ => false,
    }
}

/// `FreightOrigin.Kind` is a named string type, which `==` and `+` treat
/// apart from `string`: not modelled.
const ORIGIN_KIND: &str = "FreightOrigin's Kind";

/// `runtime.Fetch` (and `FetchField` on a value typed as a struct).
fn fetch(base: &Value, property: &Value) -> Result<Value, String> {
    let field = match property {
        Value::String(name) => Some(name.as_str()),
        _ => None,
    };
    match (base, field) {
        (Value::Map(map), Some(key)) => Ok(map.get(key).cloned().unwrap_or(Value::Nil)),
        (Value::StringMap(map), Some(key)) => {
            Ok(Value::String(map.get(key).cloned().unwrap_or_default()))
        }
        (Value::Array(items), _) => {
            let Some(mut index) = property.to_int() else {
                return Err(format!("invalid operation: int({})", property.go_type()));
            };
            let length = items.len() as i64;
            if index < 0 {
                index += length;
            }
            if !(0..length).contains(&index) {
                return Err(format!(
                    "index out of range: {index} (array length is {length})"
                ));
            }
            Ok(items[index as usize].clone())
        }
        (Value::Image(Some(image)), Some(field)) => Ok(match field {
            "RepoURL" => Value::String(image.repo_url.clone()),
            "Tag" => Value::String(image.tag.clone()),
            "Digest" => Value::String(image.digest.clone()),
            "Annotations" => Value::StringMap(BTreeMap::new()),
            _ => return Err(format!("cannot fetch {field} from *v1alpha1.Image")),
        }),
        (Value::Image(None), Some(field)) => Err(format!(
            "cannot get {field} from a nil *v1alpha1.Image: imageFrom() found no such image"
        )),
        (Value::Origin(name), Some("Name")) => Ok(Value::String(name.clone())),
        (Value::Origin(_), Some("Kind")) => Err(unsupported(ORIGIN_KIND)),
        (Value::String(_), _) => Err(unsupported("indexing a string")),
        _ => Err(format!(
            "cannot fetch {} from {}",
            property.go_display(),
            base.go_type()
        )),
    }
}

// ---------------------------------------------------------------------------
// Go's strconv and encoding/json
// ---------------------------------------------------------------------------

const SYNTAX: &str = "invalid syntax";
const RANGE: &str = "value out of range";

/// Go's `strconv.ParseFloat(s, 64)`; the error is Go's reason. Go accepts
/// `Inf`, `infinity`, `NaN` (any case), hex floats with a `p` exponent, and
/// underscores between digits (`1_000`), and refuses ±Inf from overflow.
fn go_parse_float(s: &str) -> Result<f64, &'static str> {
    if let Some((value, length)) = go_special_float(s.as_bytes()) {
        return if length == s.len() {
            Ok(value)
        } else {
            Err(SYNTAX)
        };
    }
    let float = go_read_float(s.as_bytes()).ok_or(SYNTAX)?;
    if float.length != s.len() {
        return Err(SYNTAX);
    }
    let value = if float.hex {
        go_atof_hex(float.mantissa, float.exp, float.neg, float.trunc)?
    } else {
        // The syntax is checked; Rust's parser rounds exactly like Go's.
        s.replace('_', "")
            .parse::<f64>()
            .unwrap_or_else(|e| panic!("{s:?} passed readFloat but not Rust's parser: {e}"))
    };
    if value.is_infinite() {
        return Err(RANGE);
    }
    Ok(value)
}

/// strconv's `special`: a signed `inf`/`infinity`, or `nan`; and its length.
fn go_special_float(s: &[u8]) -> Option<(f64, usize)> {
    let prefix_length = |s: &[u8], word: &str| {
        s.iter()
            .zip(word.bytes())
            .take_while(|(a, b)| a.to_ascii_lowercase() == *b)
            .count()
    };
    let (sign, signed) = match s.first()? {
        b'+' => (1.0, 1),
        b'-' => (-1.0, 1),
        b'i' | b'I' => (1.0, 0),
        b'n' | b'N' => return (prefix_length(s, "nan") == 3).then_some((f64::NAN, 3)),
        _ => return None,
    };
    match prefix_length(&s[signed..], "infinity") {
        8 => Some((sign * f64::INFINITY, signed + 8)),
        3..=7 => Some((sign * f64::INFINITY, signed + 3)),
        _ => None,
    }
}

struct ReadFloat {
    mantissa: u64,
    exp: i64,
    neg: bool,
    trunc: bool,
    hex: bool,
    length: usize,
}

/// strconv's `readFloat`: the syntax check, and the mantissa and exponent
/// that `atofHex` needs.
fn go_read_float(s: &[u8]) -> Option<ReadFloat> {
    let lower = |c: u8| c | 0x20;
    let mut i = 0;
    let mut neg = false;
    match s.first()? {
        b'+' => i += 1,
        b'-' => {
            i += 1;
            neg = true;
        }
        _ => {}
    }
    let (mut base, mut max_mantissa_digits, mut exp_char, mut hex) = (10, 19, b'e', false);
    if i + 2 < s.len() && s[i] == b'0' && lower(s[i + 1]) == b'x' {
        (base, max_mantissa_digits, exp_char, hex) = (16, 16, b'p', true);
        i += 2;
    }
    let (mut underscores, mut saw_dot, mut saw_digits, mut trunc) = (false, false, false, false);
    let (mut nd, mut nd_mantissa, mut dp, mut mantissa) = (0i64, 0i64, 0i64, 0u64);
    while i < s.len() {
        let c = s[i];
        let digit = match c {
            b'0'..=b'9' => Some(u64::from(c - b'0')),
            _ if base == 16 && (b'a'..=b'f').contains(&lower(c)) => {
                Some(u64::from(lower(c) - b'a' + 10))
            }
            _ => None,
        };
        match (c, digit) {
            (b'_', _) => underscores = true,
            (b'.', _) if saw_dot => break,
            (b'.', _) => {
                saw_dot = true;
                dp = nd;
            }
            (b'0', _) if nd == 0 => {
                saw_digits = true;
                dp -= 1;
            }
            (_, Some(digit)) => {
                saw_digits = true;
                nd += 1;
                if nd_mantissa < max_mantissa_digits {
                    mantissa = mantissa * base + digit;
                    nd_mantissa += 1;
                } else if c != b'0' {
                    trunc = true;
                }
            }
            _ => break,
        }
        i += 1;
    }
    if !saw_digits {
        return None;
    }
    if !saw_dot {
        dp = nd;
    }
    if base == 16 {
        dp *= 4;
        nd_mantissa *= 4;
    }
    if i < s.len() && lower(s[i]) == exp_char {
        i += 1;
        let mut exp_sign = 1;
        match s.get(i) {
            Some(b'+') => i += 1,
            Some(b'-') => {
                i += 1;
                exp_sign = -1;
            }
            _ => {}
        }
        if !s.get(i)?.is_ascii_digit() {
            return None;
        }
        let mut e = 0i64;
        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b'_') {
            if s[i] == b'_' {
                underscores = true;
            } else if e < 10000 {
                e = e * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        dp += e * exp_sign;
    } else if base == 16 {
        return None;
    }
    let exp = if mantissa != 0 { dp - nd_mantissa } else { 0 };
    if underscores && !go_underscore_ok(&s[..i]) {
        return None;
    }
    Some(ReadFloat {
        mantissa,
        exp,
        neg,
        trunc,
        hex,
        length: i,
    })
}

/// strconv's `underscoreOK`: underscores only between digits, or between a
/// base prefix and a digit.
fn go_underscore_ok(s: &[u8]) -> bool {
    let s = match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1] | 0x20 == b'x';
    }
    for &c in &s[i..] {
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else if saw == b'_' {
            return false;
        } else {
            saw = b'!';
        }
    }
    saw != b'_'
}

/// strconv's `atofHex` for float64.
fn go_atof_hex(
    mut mantissa: u64,
    mut exp: i64,
    neg: bool,
    trunc: bool,
) -> Result<f64, &'static str> {
    const MANTISSA_BITS: u32 = 52;
    const BIAS: i64 = -1023;
    const MAX_EXP: i64 = (1 << 11) + BIAS - 2;
    const MIN_EXP: i64 = BIAS + 1;
    exp += i64::from(MANTISSA_BITS);
    while mantissa != 0 && mantissa >> (MANTISSA_BITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if trunc {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANTISSA_BITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    while mantissa > 1 && exp < MIN_EXP - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANTISSA_BITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANTISSA_BITS == 0 {
        exp = BIAS;
    }
    if exp > MAX_EXP {
        return Err(RANGE);
    }
    let mut bits = mantissa & ((1 << MANTISSA_BITS) - 1);
    bits |= (((exp - BIAS) & 0x7ff) as u64) << MANTISSA_BITS;
    if neg {
        bits |= 1 << 63;
    }
    Ok(f64::from_bits(bits))
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A Go float64 as JSON: integers when integral (Go's `json.Marshal` prints
/// them without a fraction), floats otherwise. NaN and ±Inf have no JSON form.
fn float_json(f: f64) -> Result<Json, String> {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && f.abs() < TWO_TO_63 && !(f == 0.0 && f.is_sign_negative()) {
        return Ok(Json::from(f as i64));
    }
    serde_json::Number::from_f64(f)
        .map(Json::Number)
        .ok_or_else(|| {
            unsupported(format!(
            "the float64 {0} Kargo yields here: JSON has no form for it (in a step config Kargo \
             fails with \"json: unsupported value: {0}\")",
            go_float_name(f)
        ))
        })
}

/// How Go's `%v` writes NaN and the infinities.
fn go_float_name(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        f.to_string()
    }
}

/// Go's `strconv.Quote`, which `fmt.Sprintf("%q", s)` is.
fn go_quote(s: &str) -> Result<String, String> {
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if go_is_print(c)? => quoted.push(c),
            '\x07' => quoted.push_str("\\a"),
            '\x08' => quoted.push_str("\\b"),
            '\x0c' => quoted.push_str("\\f"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\x0b' => quoted.push_str("\\v"),
            c if c < ' ' || c == '\x7f' => {
                let _ = write!(quoted, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) < 0x10000 => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(quoted, "\\U{:08x}", u32::from(c));
            }
        }
    }
    quoted.push('"');
    Ok(quoted)
}

/// Go's `strconv.IsPrint`: exact up to U+00FF; above, only letters, digits
/// and general punctuation are known printable, anything else is refused.
fn go_is_print(c: char) -> Result<bool, String> {
    let code = u32::from(c);
    if code <= 0xFF {
        return Ok((0x20..=0x7E).contains(&code) || (0xA1..=0xFF).contains(&code) && code != 0xAD);
    }
    if c.is_alphanumeric() || (0x2010..=0x2027).contains(&code) || (0x2030..=0x205E).contains(&code)
    {
        return Ok(true);
    }
    Err(unsupported(format!(
        "quoting U+{code:04X}: Go's IsPrint table is ported for Latin-1, letters, digits and \
         general punctuation only"
    )))
}

/// [`go_quote`] for error messages, which must not fail.
fn go_quote_lossy(s: &str) -> String {
    go_quote(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// Go's `%#U`.
fn go_sharp_u(c: char) -> String {
    let code = u32::from(c);
    if (0x20..=0x7E).contains(&code) {
        format!("U+{code:04X} '{c}'")
    } else {
        format!("U+{code:04X}")
    }
}

/// Go's `json.Marshal` (`indent` None), or `json.MarshalIndent(v, "", "  ")`
/// (`indent` Some(0)).
fn go_json(value: &Value, indent: Option<usize>) -> Result<String, String> {
    let mut out = String::new();
    write_json(value, indent, &mut out)?;
    Ok(out)
}

fn write_json(value: &Value, indent: Option<usize>, out: &mut String) -> Result<(), String> {
    match value {
        Value::Nil | Value::Image(None) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            let entries = items.iter().map(|item| (None, item.clone()));
            write_json_container(&entries.collect::<Vec<_>>(), ['[', ']'], indent, out)?;
        }
        object => {
            let entries = object.json_members().into_iter().map(|(k, v)| (Some(k), v));
            write_json_container(&entries.collect::<Vec<_>>(), ['{', '}'], indent, out)?;
        }
    }
    Ok(())
}

fn write_json_container(
    entries: &[(Option<String>, Value)],
    brackets: [char; 2],
    indent: Option<usize>,
    out: &mut String,
) -> Result<(), String> {
    out.push(brackets[0]);
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Some(depth) = indent {
            out.push('\n');
            out.push_str(&"  ".repeat(depth + 1));
        }
        if let Some(key) = key {
            write_json_string(key, out);
            out.push(':');
            if indent.is_some() {
                out.push(' ');
            }
        }
        write_json(value, indent.map(|depth| depth + 1), out)?;
    }
    if let (Some(depth), false) = (indent, entries.is_empty()) {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push(brackets[1]);
    Ok(())
}

/// encoding/json's `appendString` with HTML escaping, as `json.Marshal` does.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0'..='\x1f' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// encoding/json's `floatEncoder`: the shortest representation, with an
/// exponent below 1e-6 and from 1e21 (`1e+21`, `1e-7`).
fn go_json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!("json: unsupported value: {}", go_float_name(f)));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let shortest = format!("{f:e}");
        let (mantissa, exponent) = shortest.split_once('e').expect("{:e} writes an exponent");
        return Ok(match exponent.strip_prefix('-') {
            Some(digits) => format!("{mantissa}e-{digits}"),
            None => format!("{mantissa}e+{exponent}"),
        });
    }
    Ok(f.to_string())
}

/// Go's `json.Unmarshal` into `any`: numbers are float64s (see
/// [`float_json`]), invalid `\u` surrogates become U+FFFD, nesting stops at
/// 10000 levels.
fn go_json_unmarshal(text: &str) -> Result<Json, String> {
    let mut reader = JsonReader {
        text,
        at: 0,
        depth: 0,
    };
    let value = reader.value()?;
    reader.skip_space();
    if reader.at < text.len() {
        return reader.fail("after top-level value");
    }
    Ok(value)
}

struct JsonReader<'a> {
    text: &'a str,
    /// Byte offset.
    at: usize,
    depth: usize,
}

impl JsonReader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn fail<T>(&self, context: &str) -> Result<T, String> {
        Err(match self.text[self.at..].chars().next() {
            Some(c) => format!("invalid character {c:?} {context}"),
            None => "unexpected end of JSON input".to_string(),
        })
    }

    fn value(&mut self) -> Result<Json, String> {
        self.skip_space();
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.fail("looking for beginning of value"),
        }
    }

    fn nested(&mut self, read: fn(&mut Self) -> Result<Json, String>) -> Result<Json, String> {
        self.depth += 1;
        if self.depth > 10_000 {
            return Err("exceeded max depth".into());
        }
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Result<Json, String> {
        self.at += 1;
        let mut members = Map::new();
        self.skip_space();
        if self.eat(b'}') {
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return self.fail("looking for beginning of object key string");
            }
            let key = self.string()?;
            self.skip_space();
            if !self.eat(b':') {
                return self.fail("after object key");
            }
            let value = self.value()?;
            members.insert(key, value);
            self.skip_space();
            if self.eat(b'}') {
                return Ok(Json::Object(members));
            }
            if !self.eat(b',') {
                return self.fail("after object key:value pair");
            }
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.eat(b']') {
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_space();
            if self.eat(b']') {
                return Ok(Json::Array(items));
            }
            if !self.eat(b',') {
                return self.fail("after array element");
            }
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if !self.text[self.at..].starts_with(word) {
            return self.fail(&format!("in literal {word}"));
        }
        self.at += word.len();
        Ok(value)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        self.eat(b'-');
        if !self.eat(b'0') {
            if !matches!(self.peek(), Some(b'1'..=b'9')) {
                return self.fail("in numeric literal");
            }
            self.digits();
        }
        if self.eat(b'.') {
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return self.fail("after decimal point in numeric literal");
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return self.fail("in exponent of numeric literal");
            }
            self.digits();
        }
        let literal = &self.text[start..self.at];
        match literal.parse::<f64>() {
            Ok(number) if number.is_finite() => float_json(number),
            _ => Err(format!(
                "json: cannot unmarshal number {literal} into Go value of type float64"
            )),
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.text[self.at..].chars().next() else {
                return self.fail("in string literal");
            };
            match c {
                '"' => {
                    self.at += 1;
                    return Ok(value);
                }
                '\\' => self.escape(&mut value)?,
                c if c < ' ' => return self.fail("in string literal"),
                c => {
                    self.at += c.len_utf8();
                    value.push(c);
                }
            }
        }
    }

    fn escape(&mut self, value: &mut String) -> Result<(), String> {
        self.at += 1;
        let Some(escape) = self.peek() else {
            return self.fail("in string escape code");
        };
        let simple = match escape {
            b'"' | b'\\' | b'/' => Some(char::from(escape)),
            b'b' => Some('\x08'),
            b'f' => Some('\x0c'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            b'u' => None,
            _ => return self.fail("in string escape code"),
        };
        self.at += 1;
        if let Some(c) = simple {
            value.push(c);
            return Ok(());
        }
        let Some(unit) = self.hex4(self.at) else {
            return self.fail("in \\u hexadecimal character escape");
        };
        self.at += 4;
        if !(0xD800..0xE000).contains(&unit) {
            value.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
            return Ok(());
        }
        // A surrogate: only a high one followed by an escaped low one is a
        // character; anything else is U+FFFD, the next escape left alone.
        let low = self.text[self.at..]
            .starts_with("\\u")
            .then(|| self.hex4(self.at + 2))
            .flatten()
            .filter(|low| unit < 0xDC00 && (0xDC00..0xE000).contains(low));
        match low {
            Some(low) => {
                self.at += 6;
                let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                value.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            None => value.push('\u{FFFD}'),
        }
        Ok(())
    }
}

/// expr-lang's `file.Error` text: the message, then where (line:column) and
/// the source line with a caret, `from` counting runes.
fn bind(source: &str, from: usize, message: &str) -> String {
    let (mut line, mut column, mut line_start) = (1, 0, 0);
    for (count, (at, c)) in source.char_indices().enumerate() {
        if count == from {
            break;
        }
        if c == '\n' {
            line_start = at + 1;
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
    }
    let line_end = source[line_start..]
        .find('\n')
        .map_or(source.len(), |n| line_start + n);
    if line_start == line_end {
        return message.to_string();
    }
    let text = source[line_start..line_end].replace('\t', " ");
    format!(
        "{message} ({line}:{})\n | {text}\n | {}^",
        column + 1,
        ".".repeat(column)
    )
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `aFloat` of Kargo's test environment.
    #[allow(clippy::approx_constant)] // Kargo's value, not π
    const A_FLOAT: f64 = 3.14;

    /// The environment of Kargo's `TestEvaluateJSONTemplate`
    /// (json_templates_test.go:14-43); its `testStruct` is given by its JSON.
    fn kargo_env() -> Env {
        Env::new()
            .var("aString", json!("hello"))
            .var("anInt", json!(42))
            .var("aFloat", json!(A_FLOAT))
            .var("aBool", json!(true))
            .var(
                "aStringMap",
                json!({"aString": "hello", "anotherString": "world"}),
            )
            .var("anIntMap", json!({"anInt": 42, "anotherInt": 43}))
            .var("aStringArr", json!(["one", "two", "three"]))
            .var("anIntArr", json!([1, 2, 3]))
            .var("aStruct", test_struct())
    }

    /// `testStruct{AString: "hello", AnInt: 42}` as Go's json.Marshal writes it.
    fn test_struct() -> Json {
        json!({
            "AString": "hello", "AnInt": 42, "AFloat": 0, "ABool": false,
            "AStringMap": null, "AnIntMap": null, "AStringArr": null, "AnIntArr": null,
            "AStruct": null,
        })
    }

    fn config(json: &str) -> Json {
        evaluate_json_template(json, &kargo_env()).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn config_error(json: &str) -> String {
        match evaluate_json_template(json, &kargo_env()) {
            Ok(value) => panic!("{json} evaluated to {value}"),
            Err(e) => e,
        }
    }

    fn eval(template: &str, env: &Env) -> Json {
        evaluate_template(template, env).unwrap_or_else(|e| panic!("{template}: {e}"))
    }

    fn eval_error(template: &str, env: &Env) -> String {
        match evaluate_template(template, env) {
            Ok(value) => panic!("{template} evaluated to {value}"),
            Err(e) => e,
        }
    }

    fn assert_contains(haystack: &str, needle: &str) {
        assert!(haystack.contains(needle), "{needle:?} not in {haystack:?}");
    }

    // The cases of Kargo's TestEvaluateJSONTemplate, named after them.

    #[test]
    fn template_is_not_valid_json() {
        assert_contains(
            &config_error(r#"{ "key": ${{ true }} }"#),
            "input is not valid JSON",
        );
    }

    #[test]
    fn scalar_values() {
        let out = config(
            r#"{
                "AString": "${{ aString }}",
                "AnInt": "${{ anInt }}",
                "AFloat": "${{ aFloat }}",
                "ABool": "${{ aBool }}"
            }"#,
        );
        assert_eq!(
            out,
            json!({"AString": "hello", "AnInt": 42, "AFloat": A_FLOAT, "ABool": true})
        );
    }

    #[test]
    fn mixing_an_expression_with_string_literals() {
        let out = config(r#"{ "AString": "${{ aString }}, world!" }"#);
        assert_eq!(out, json!({"AString": "hello, world!"}));
    }

    #[test]
    fn multiple_expressions_in_one_value() {
        let out = config(r#"{ "AString": "${{ aString }}, ${{ anInt }}!" }"#);
        assert_eq!(out, json!({"AString": "hello, 42!"}));
    }

    #[test]
    fn maps() {
        let out = config(
            r#"{
                "AStringMap": "${{ aStringMap }}",
                "AnIntMap": "${{ anIntMap }}"
            }"#,
        );
        assert_eq!(
            out,
            json!({
                "AStringMap": {"aString": "hello", "anotherString": "world"},
                "AnIntMap": {"anInt": 42, "anotherInt": 43},
            })
        );
    }

    #[test]
    fn arrays() {
        let out = config(
            r#"{
                "AStringArr": "${{ aStringArr }}",
                "AnIntArr": "${{ anIntArr }}"
            }"#,
        );
        assert_eq!(
            out,
            json!({"AStringArr": ["one", "two", "three"], "AnIntArr": [1, 2, 3]})
        );
    }

    #[test]
    fn structs() {
        let out = config(r#"{ "AStruct": "${{ aStruct }}" }"#);
        assert_eq!(out, json!({ "AStruct": test_struct() }));
    }

    #[test]
    fn null() {
        let out = config(r#"{ "AStruct": "${{ \"null\" }}" }"#);
        assert_eq!(out, json!({"AStruct": null}));
    }

    #[test]
    fn test_recursion() {
        let out = config(
            r#"{
                "AStringMap": { "key": "${{ aString }}" },
                "AnIntMap": { "key": "${{ anInt }}" },
                "AStringArr": [ "${{ aString }}"],
                "AnIntArr": [ "${{ anInt }}"]
            }"#,
        );
        assert_eq!(
            out,
            json!({
                "AStringMap": {"key": "hello"},
                "AnIntMap": {"key": 42},
                "AStringArr": ["hello"],
                "AnIntArr": [42],
            })
        );
    }

    #[test]
    fn quote_function_forces_null_to_string() {
        // `null` is no literal: an environment entry nobody set, so nil.
        assert_eq!(
            config(r#"{ "AString": "${{ quote(null) }}" }"#),
            json!({"AString": "null"})
        );
    }

    #[test]
    fn quote_function_forces_bool_to_string() {
        assert_eq!(
            config(r#"{ "AString": "${{ quote(true) }}" }"#),
            json!({"AString": "true"})
        );
    }

    #[test]
    fn quote_function_forces_number_to_string() {
        assert_eq!(
            config(r#"{ "AString": "${{ quote(42) }}" }"#),
            json!({"AString": "42"})
        );
    }

    #[test]
    fn quote_function_forces_object_to_string() {
        let out = config(r#"{ "AString": "${{ quote({ 'foo': 'bar' }) }}" }"#);
        assert_eq!(out, json!({"AString": r#"{"foo":"bar"}"#}));
    }

    #[test]
    fn quote_function_doesnt_double_quote_string_input() {
        assert_eq!(
            config(r#"{ "AString": "${{ quote('foo') }}" }"#),
            json!({"AString": "foo"})
        );
    }

    #[test]
    fn unsafe_quote_function_does_double_quote_string_input() {
        let out = config(r#"{ "AString": "${{ unsafeQuote('foo') }}" }"#);
        assert_eq!(out, json!({"AString": "\"foo\""}));
    }

    #[test]
    fn as_yaml_function_formats_map_as_string_is_not_ported() {
        let error = config_error(r#"{ "AString": "${{ asYAML({ 'foo': 'bar', 'count': 2 }) }}" }"#);
        assert_contains(&error, UNSUPPORTED);
    }

    #[test]
    fn as_json_function_formats_object_as_pretty_json_string() {
        let out = config(r#"{ "AString": "${{ asJSON({ 'foo': 'bar', 'count': 2 }) }}" }"#);
        let text = out["AString"].as_str().expect("a string");
        assert_eq!(text, "{\n  \"count\": 2,\n  \"foo\": \"bar\"\n}\n");
        let parsed: Json = serde_json::from_str(text).unwrap();
        assert_eq!(parsed, json!({"foo": "bar", "count": 2}));
    }

    /// The template is what sigs.k8s.io/yaml's `YAMLToJSON` makes of the YAML
    /// in Kargo's case (block scalars keep one trailing newline).
    #[test]
    fn a_variety_of_tricky_cases_dealing_with_yaml_and_quotes() {
        let out = config(
            r#"{
                "value1": {"foo": "bar"},
                "value2": "${{ quote({\"foo\": \"bar\"}) }}",
                "value3": "{\"foo\": \"bar\"}\n",
                "value4": "${{ {\"foo\": \"bar\"} }}\n",
                "value5": "${{ quote({\"foo\": \"bar\"}) }}\n",
                "value6": "${{ quote({\"foo\": \"bar\"}) }}\n",
                "value7": 42,
                "value8": "42",
                "value9": "42",
                "value10": "${{ quote(42) }}",
                "value11": "42\n",
                "value12": "${{ 42 }}\n",
                "value13": "${{ quote(42) }}\n"
            }"#,
        );
        assert_eq!(
            out,
            json!({
                "value1": {"foo": "bar"},
                "value2": r#"{"foo":"bar"}"#,
                "value3": "{\"foo\": \"bar\"}\n",
                "value4": {"foo": "bar"},
                "value5": "{\"foo\":\"bar\"}\n",
                "value6": "{\"foo\":\"bar\"}\n",
                "value7": 42,
                "value8": "42",
                "value9": "42",
                "value10": "42",
                "value11": "42\n",
                "value12": 42,
                "value13": "42\n",
            })
        );
    }

    #[test]
    fn missing_closing_delimiter() {
        assert_contains(
            &config_error(r#"{ "AString": "${{ aString " }"#),
            "unclosed expression",
        );
    }

    #[test]
    fn closing_delimiter_in_expression_body_terminates_early() {
        let error = config_error(r#"{ "AString": "${{ '{{.domain}}' }}" }"#);
        assert_contains(&error, "literal not terminated");
    }

    #[test]
    fn alternative_delimiters_allow_other_end_delimiter_characters_within_expression() {
        let out = config(r#"{ "AString": "${% '{{.domain}}' %}" }"#);
        assert_eq!(out, json!({"AString": "{{.domain}}"}));
    }

    #[test]
    fn multiple_delimiters_can_coexist_in_the_same_template() {
        let out = config(r#"{ "AString": "foo ${{ aString }} and ${% 'bar' %}" }"#);
        assert_eq!(out, json!({"AString": "foo hello and bar"}));
    }

    #[test]
    fn quote_function_is_forbidden() {
        let env = Env::new().var("quote", Json::Null);
        let error = evaluate_json_template("{}", &env).unwrap_err();
        assert_contains(&error, r#""quote" is a forbidden key"#);
    }

    #[test]
    fn as_yaml_function_is_forbidden() {
        let env = Env::new().var("asYAML", Json::Null);
        let error = evaluate_json_template("{}", &env).unwrap_err();
        assert_contains(&error, r#""asYAML" is a forbidden key"#);
    }

    #[test]
    fn as_json_function_is_forbidden() {
        let env = Env::new().var("asJSON", Json::Null);
        let error = evaluate_json_template("{}", &env).unwrap_err();
        assert_contains(&error, r#""asJSON" is a forbidden key"#);
    }

    // What the generator relies on.

    const PYTHON: &str = "docker.io/library/python";
    const PYTHON_DIGEST: &str =
        "sha256:0f2e1e5cd8fa7b3a2dc9e5d1c1c3d4e7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3";

    fn python_env() -> Env {
        Env::new().image("python-3.12-slim", PYTHON, "3.12-slim", PYTHON_DIGEST)
    }

    /// A GitHub workflow dispatch body, built as one quoted map.
    const DISPATCH: &str = r#"${{ quote({"ref": "main", "inputs": {"version_bump": "patch", "base_digest": (imageFrom("docker.io/library/python", warehouse("python-3.12-slim"))?.Digest ?? "none")} }) }}"#;

    #[test]
    fn a_quoted_dispatch_body_is_a_json_string() {
        fn all_strings(value: &Json) -> bool {
            match value {
                Json::Object(members) => members.values().all(all_strings),
                other => other.is_string(),
            }
        }
        let out = eval(DISPATCH, &python_env());
        let body = out
            .as_str()
            .unwrap_or_else(|| panic!("not a string: {out}"));
        assert_eq!(
            body,
            format!(
                r#"{{"inputs":{{"base_digest":"{PYTHON_DIGEST}","version_bump":"patch"}},"ref":"main"}}"#
            )
        );
        let parsed: Json = serde_json::from_str(body).unwrap();
        assert_eq!(parsed["inputs"]["base_digest"], json!(PYTHON_DIGEST));
        assert!(all_strings(&parsed), "{parsed}");
    }

    #[test]
    fn a_dispatch_body_falls_back_when_no_image_was_promoted() {
        let fallback = r#"{"inputs":{"base_digest":"none","version_bump":"patch"},"ref":"main"}"#;
        // The Warehouse subscribes to python but no Freight holding it was promoted.
        let subscribed = Env::new().subscription("python-3.12-slim", PYTHON);
        assert_eq!(eval(DISPATCH, &subscribed), json!(fallback));
        // The Stage does not request Freight from that Warehouse at all.
        assert_eq!(eval(DISPATCH, &Env::new()), json!(fallback));
    }

    #[test]
    fn an_unquoted_dispatch_body_becomes_an_object() {
        let template = r#"{"ref": "main", "inputs": {"version_bump": "patch", "base_digest": "${{ imageFrom("docker.io/library/python", warehouse("python-3.12-slim"))?.Digest ?? "none" }}"}}"#;
        assert_eq!(
            eval(template, &python_env()),
            json!({
                "ref": "main",
                "inputs": {"version_bump": "patch", "base_digest": PYTHON_DIGEST},
            })
        );
    }

    #[test]
    fn a_numeric_tag_becomes_a_number_unless_quoted() {
        let env = Env::new().image("w", "x", "1.2", "sha256:1");
        assert_eq!(eval(r#"${{ imageFrom("x").Tag }}"#, &env), json!(1.2));
        assert_eq!(
            eval(r#"${{ quote(imageFrom("x").Tag) }}"#, &env),
            json!("1.2")
        );
        assert_eq!(eval(r#"v${{ imageFrom("x").Tag }}"#, &env), json!("v1.2"));
    }

    #[test]
    fn an_expression_containing_the_closing_delimiter_fails() {
        // Cut at the first `}}`: ` quote({"inputs": {"a": "b"` cannot parse.
        let error = eval_error(r#"${{ quote({"inputs": {"a": "b"}}) }}"#, &Env::new());
        assert_contains(&error, "unexpected token EOF");
        // An escape keeps the braces out of the template text.
        let out = eval(r#"${{ "\u007d\u007d" }}"#, &Env::new());
        assert_eq!(out, json!("}}"));
    }

    #[test]
    fn image_from_without_an_origin_must_be_unambiguous() {
        let env = Env::new()
            .image("a", PYTHON, "3.12", "sha256:a")
            .subscription("b", PYTHON);
        let error = eval_error(&format!(r#"${{{{ imageFrom("{PYTHON}").Tag }}}}"#), &env);
        assert_contains(
            &error,
            "multiple requested Freight could potentially provide a container image from \
             repository docker.io/library/python: please provide a Freight origin to disambiguate",
        );
        let tag = format!(r#"${{{{ imageFrom("{PYTHON}", warehouse("a")).Tag }}}}"#);
        assert_eq!(eval(&tag, &env), json!(3.12));
        let nil = format!(r#"${{{{ imageFrom("{PYTHON}", warehouse("b")) }}}}"#);
        assert_eq!(eval(&nil, &env), Json::Null);
        let one = Env::new()
            .image("a", PYTHON, "3.12", "sha256:a")
            .subscription("b", "other");
        assert_eq!(
            eval(&format!(r#"${{{{ imageFrom("{PYTHON}").Digest }}}}"#), &one),
            json!("sha256:a")
        );
    }

    #[test]
    fn images_and_origins_encode_as_go_structs() {
        let quoted_image = format!(r#"${{{{ quote(imageFrom("{PYTHON}")) }}}}"#);
        assert_eq!(
            eval(&quoted_image, &python_env()),
            json!(format!(
                r#"{{"repoURL":"{PYTHON}","tag":"3.12-slim","digest":"{PYTHON_DIGEST}"}}"#
            ))
        );
        let quoted_origin = r#"${{ quote(warehouse("w")) }}"#;
        assert_eq!(
            eval(quoted_origin, &Env::new()),
            json!(r#"{"kind":"Warehouse","name":"w"}"#)
        );
        assert_eq!(
            eval(r#"${{ warehouse("w").Name }}"#, &Env::new()),
            json!("w")
        );
    }

    #[test]
    fn image_fields_are_type_checked_even_when_the_image_is_nil() {
        let template = r#"${{ imageFrom("x", warehouse("w"))?.digest ?? "none" }}"#;
        assert_contains(
            &eval_error(template, &Env::new()),
            "type v1alpha1.Image has no field digest",
        );
        let template = r#"${{ imageFrom("x", warehouse("w"))?.Digest ?? "none" }}"#;
        assert_eq!(eval(template, &Env::new()), json!("none"));
    }

    #[test]
    fn a_nil_image_without_optional_chaining_fails() {
        let error = eval_error(
            r#"${{ imageFrom("x", warehouse("w")).Digest }}"#,
            &Env::new(),
        );
        assert_contains(&error, "imageFrom() found no such image");
    }

    /// expr-lang v1.17.8's `replace` (builtin/builtin.go:296-311, pinned
    /// by Kargo v1.11.2's go.mod:59): `replace(str, old, new)` is
    /// `strings.ReplaceAll(str, old, new)`, so every occurrence, literal, in
    /// that argument order. The expected values are Go's.
    #[test]
    fn replace_is_strings_replace_all() {
        let env = Env::new().var("actor", json!("<!channel> & a&lt;"));
        let cases = [
            // Argument order (str, old, new), every occurrence.
            (r#"replace("hello", "l", "L")"#, "heLLo"),
            // `old` is literal: `.` and `[0-9]+` are not patterns.
            (r#"replace("a.b.c", ".", "-")"#, "a-b-c"),
            (r#"replace("a1b22c", "[0-9]+", "N")"#, "a1b22c"),
            // Leftmost, non-overlapping.
            (r#"replace("aaa", "aa", "b")"#, "ba"),
            // An empty `old` matches before each UTF-8 sequence and at the end.
            (r#"replace("äb", "", "-")"#, "-ä-b-"),
            // The Slack escaping imgf emits: `&` first, so nothing is escaped
            // twice, and an `&lt;` in the value stays visible as text.
            (
                r#"replace(replace(replace(actor, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")"#,
                "&lt;!channel&gt; &amp; a&amp;lt;",
            ),
        ];
        for (expression, want) in cases {
            assert_eq!(
                eval(&format!("${{{{ {expression} }}}}"), &env),
                json!(want),
                "{expression}"
            );
        }
        assert_contains(
            &eval_error(r#"${{ replace("a", "b") }}"#, &env),
            "not enough arguments to call replace",
        );
        assert_contains(
            &eval_error(r#"${{ replace(1, "b", "c") }}"#, &env),
            "cannot use int as argument",
        );
        // The 4-argument form (`strings.Replace` with a count) is not ported.
        assert_contains(
            &eval_error(r#"${{ replace("aaa", "a", "b", 1) }}"#, &env),
            UNSUPPORTED,
        );
    }

    #[test]
    fn function_arguments_are_type_checked() {
        let env = Env::new();
        assert_contains(
            &eval_error("${{ quote() }}", &env),
            "not enough arguments to call quote",
        );
        assert_contains(
            &eval_error("${{ warehouse(1) }}", &env),
            "cannot use int as argument",
        );
        assert_contains(
            &eval_error("${{ warehouse('') }}", &env),
            "name must not be empty",
        );
        let error = eval_error(r#"${{ imageFrom("x", "w") }}"#, &env);
        assert_contains(&error, "too many arguments to call imageFrom");
        assert_contains(
            &eval_error(r#"${{ "a" + 1 }}"#, &env),
            "mismatched types string and int",
        );
        assert_contains(
            &eval_error(r#"${{ false && "a" }}"#, &env),
            "mismatched types bool and string",
        );
    }

    #[test]
    fn secret_returns_its_keys_or_an_empty_map() {
        let env = Env::new().secret("gh", "token", "s3cr3t");
        assert_eq!(eval(r#"${{ secret("gh").token }}"#, &env), json!("s3cr3t"));
        assert_eq!(
            eval(r#"${{ secret("gh")["token"] }}"#, &env),
            json!("s3cr3t")
        );
        assert_eq!(
            eval(r#"${{ secret("gh") }}"#, &env),
            json!({"token": "s3cr3t"})
        );
        assert_eq!(eval(r#"${{ secret("missing") }}"#, &env), json!({}));
        // A map[string]string: a missing key reads "", which `??` keeps.
        assert_eq!(
            eval(r#"${{ secret("missing").token ?? "default" }}"#, &env),
            json!("")
        );
    }

    #[test]
    fn retyping_follows_go_strconv_and_json() {
        let env = Env::new();
        let cases = [
            ("1_000", json!(1000)),
            // Go's strconv atof_test.go vectors.
            ("1_23.50_0_0e+1_2", json!(123_500_000_000_000_i64)),
            ("123_.5e+12", json!("123_.5e+12")),
            ("0x_1_2.3_4_5p+1_2", json!(74565)),
            (
                "1090544144181609348671888949248",
                json!(1.090_544_144_181_609_3e30),
            ),
            ("0x1p3", json!(8)),
            ("0x1.8p1", json!(3)),
            ("0x10", json!("0x10")),
            ("_1", json!("_1")),
            ("1__0", json!("1__0")),
            ("+.5", json!(0.5)),
            ("20240101", json!(20_240_101)),
            ("1e400", json!("1e400")),
            ("infinite", json!("infinite")),
            ("t", json!(true)),
            ("FALSE", json!(false)),
            ("tRue", json!("tRue")),
            ("null", Json::Null),
            (r#"[1, "a", {"b": 1.0}]"#, json!([1, "a", {"b": 1}])),
            (r#""""#, json!("")),
            ("\"", json!("\"")),
            (r#""a" b"#, json!(r#""a" b"#)),
            (r#" "spaced" "#, json!("spaced")),
            (r#"{"a": "\ud800"}"#, json!({"a": "\u{FFFD}"})),
            ("42\n", json!(42)),
            // One newline is stripped; JSON allows the other.
            ("42\n\n", json!(42)),
            ("\"42\"\n", json!("42\n")),
        ];
        for (result, want) in cases {
            // An empty string expression leaves `result` as the substituted text.
            let template = format!("{result}${{{{ '' }}}}");
            assert_eq!(eval(&template, &env), want, "{result:?}");
        }
        for special in ["NaN", "Inf", "-infinity"] {
            let error = eval_error(&format!("{special}${{{{ '' }}}}"), &env);
            assert_contains(&error, UNSUPPORTED);
        }
        // Without any expression, nothing is re-typed.
        assert_eq!(eval("42", &env), json!("42"));
    }

    #[test]
    fn results_are_encoded_like_go_json_marshal() {
        let template = r#"${{ quote({"b": "<&>", "a": 1.5, "c": nil, "d": 1e21, "e": 0.0000001, "f": [1, true], "g": 100000000000000000000.0, "h": 2 + 0.5, "i": -0.0}) }}"#;
        assert_eq!(
            eval(template, &Env::new()),
            json!(
                r#"{"a":1.5,"b":"\u003c\u0026\u003e","c":null,"d":1e+21,"e":1e-7,"f":[1,true],"g":100000000000000000000,"h":2.5,"i":-0}"#
            )
        );
        // A non-string result is JSON too.
        assert_eq!(
            eval("x${{ [1, 'a<'] }}", &Env::new()),
            json!(r#"x[1,"a\u003c"]"#)
        );
    }

    #[test]
    fn quote_escapes_strings_like_go_percent_q() {
        let env = Env::new();
        // The escapes stay visible once re-typing strips the outer quotes.
        assert_eq!(
            eval(r#"${{ quote("a\"b\\c\n") }}"#, &env),
            json!(r#"a\"b\\c\n"#)
        );
        assert_eq!(
            eval(r#"${{ quote("\x01\u00a0é\u00ad") }}"#, &env),
            json!(r"\x01\u00a0é\u00ad")
        );
        assert_contains(
            &eval_error(r#"${{ quote("\u{1F600}") }}"#, &env),
            UNSUPPORTED,
        );
    }

    #[test]
    fn string_literals_follow_expr_lang_escapes() {
        let env = Env::new();
        assert_eq!(eval(r"${{ 'it\'s' }}", &env), json!("it's"));
        assert_eq!(
            eval(r#"${{ "\x41\101\u0041\u{41}\U00000041" }}"#, &env),
            json!("AAAAA")
        );
        assert_eq!(eval(r#"${{ "\ud800" }}"#, &env), json!("\u{FFFD}"));
        assert_eq!(eval("${{ `a\\n``b` }}", &env), json!("a\\n`b"));
        assert_contains(&eval_error(r#"${{ "\'" }}"#, &env), "invalid char escape");
        assert_contains(&eval_error(r#"${{ '\"' }}"#, &env), "invalid char escape");
        assert_contains(&eval_error(r#"${{ "\?" }}"#, &env), "invalid char escape");
        assert_contains(
            &eval_error(r#"${{ "\400" }}"#, &env),
            "unable to unescape string",
        );
        assert_contains(&eval_error("${{ 'a\nb' }}", &env), "literal not terminated");
    }

    #[test]
    fn coalesce_cannot_be_mixed_with_other_operators() {
        let env = Env::new();
        assert_contains(
            &eval_error(r#"${{ a ?? "x" + "y" }}"#, &env),
            "cannot be mixed",
        );
        assert_eq!(eval(r#"${{ (a ?? "x") + "y" }}"#, &env), json!("xy"));
        assert_eq!(eval(r#"${{ "x" + a ?? "y" }}"#, &env), json!("xy"));
    }

    #[test]
    fn operators_evaluate_like_expr_lang() {
        let env = Env::new().var("vars", json!({"n": 2, "s": "a", "list": [1, 2.0]}));
        assert_eq!(eval("${{ 1 + 2.5 }}", &env), json!(3.5));
        assert_eq!(
            eval("${{ vars.n == 2.0 && vars.s != 'b' }}", &env),
            json!(true)
        );
        assert_eq!(eval("${{ vars.list == [1.0, 2] }}", &env), json!(true));
        assert_eq!(eval("${{ {'a': 1} == {'a': 1.0} }}", &env), json!(false));
        assert_eq!(
            eval("${{ !(vars.missing == nil) || -vars.n + 2 == 0 }}", &env),
            json!(true)
        );
        assert_eq!(eval("${{ vars.list[-1] }}", &env), json!(2));
        assert_eq!(eval("${{ {'k': 1, 'k': 2}.k }}", &env), json!(1));
        assert_eq!(eval("${{ vars /* a comment */ .s }}", &env), json!("a"));
        assert_contains(
            &eval_error("${{ vars.s + 1 }}", &env),
            "invalid operation: string + int",
        );
        assert_contains(
            &eval_error("${{ vars.list[2] }}", &env),
            "index out of range",
        );
    }

    #[test]
    fn an_empty_expression_ends_the_substitution() {
        assert_eq!(eval("a${{}}${{ 1 }}", &Env::new()), json!("a${{ 1 }}"));
    }

    #[test]
    fn only_names_extend_an_optional_chain() {
        let env = Env::new();
        assert_eq!(eval("${{ a?.b.c }}", &env), Json::Null);
        assert_eq!(eval("${{ a?.['b'] }}", &env), Json::Null);
        assert_contains(
            &eval_error(r#"${{ a?.b["c"] }}"#, &env),
            "cannot fetch c from <nil>",
        );
        assert_contains(&eval_error("${{ a.b }}", &env), "cannot fetch b from <nil>");
    }

    #[test]
    fn parse_errors_are_located_like_expr_lang() {
        let error = eval_error("${{ quote(1 }}", &Env::new());
        assert_eq!(
            error,
            "unexpected token EOF (1:9)\n |  quote(1 \n | ........^"
        );
    }

    #[test]
    fn ordering_compares_numbers_and_strings() {
        let env = Env::new().var("response", serde_json::json!({"status": 429}));
        let e = |x: &str| evaluate_raw_expression(x, &env).unwrap();
        assert_eq!(
            e("response.status >= 400 && response.status < 500"),
            Json::Bool(true)
        );
        assert_eq!(
            e("response.status != 429 && response.status >= 400"),
            Json::Bool(false)
        );
        assert_eq!(e("1.5 <= 2"), Json::Bool(true));
        assert_eq!(e("'a' > 'b'"), Json::Bool(false));
        assert!(evaluate_raw_expression("'a' < 1", &env).is_err());
    }

    #[test]
    fn what_this_port_does_not_cover_is_an_error() {
        let expressions = [
            "len('a')",
            "1 - 1",
            "true ? 1 : 2",
            r#"commitFrom("x")"#,
            "'a' | upper()",
            "[1, 2][0:1]",
            "let x = 1; x",
            "a.b()",
            "quote",
            "warehouse('w').Kind",
            "a not in b",
            "b'x'",
            "é",
        ];
        for expression in expressions {
            let error = eval_error(&format!("${{{{ {expression} }}}}"), &Env::new());
            assert_contains(&error, UNSUPPORTED);
        }
    }
}
