//! Personal merge fields in a message body: `{{ firstName }}`, `{{ name }}`, `{{ church }}`,
//! rendered for each recipient by a template engine (minijinja) in strict mode, so that a field
//! the body names but nobody has is an error naming it, never an empty gap in someone's text.
//! A body without template syntax is its own rendering.
//!
//! Only fields and case or spacing filters are allowed in `{{ … }}`, and no statements: the
//! language can also loop and repeat strings (`{{ "x" * 99999999 }}`), which a body sent to
//! thousands, or previewed on every keystroke, must not be able to do. Fuel bounds the rest.

use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;

/// The fields a body may use.
pub const FIELDS: [&str; 3] = ["firstName", "name", "church"];

/// Filters a field may pass through: they change case or spacing, nothing else.
pub const FILTERS: [&str; 5] = ["upper", "lower", "title", "capitalize", "trim"];

/// Far more than any text of 1,530 characters needs to fill in its fields.
const FUEL: u64 = 20_000;

/// What one recipient's text is made from.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub name: &'a str,
    pub church: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Context<'a> {
    first_name: &'a str,
    name: &'a str,
    church: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("the body is not a valid template: {0}")]
    Syntax(String),
    #[error(
        "unknown merge fields {0:?}; a body may use {{{{ firstName }}}}, {{{{ name }}}} and {{{{ church }}}}"
    )]
    UnknownFields(Vec<String>),
    #[error("the body could not be filled in: {0}")]
    Render(String),
}

/// Refuses statements and anything in `{{ … }}` but a field and filters from [`FILTERS`];
/// unknown field names are collected and refused together.
fn allowed(body: &str) -> Result<(), MergeError> {
    if body.contains("{%") {
        return Err(MergeError::Syntax(
            "statements ({% … %}) are not allowed: only {{ field }}, with filters".to_owned(),
        ));
    }
    let mut unknown: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(MergeError::Syntax("a {{ is not closed by }}".to_owned()));
        };
        // `{{- name -}}` trims the text around it.
        let inside = after[..close].trim().trim_matches('-').trim();
        let mut parts = inside.split('|').map(str::trim);
        let field = parts.next().unwrap_or_default();
        let is_name = !field.is_empty()
            && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !field.starts_with(|c: char| c.is_ascii_digit());
        if !is_name {
            return Err(MergeError::Syntax(format!(
                "{{{{ {inside} }}}}: only a field name, with filters such as | upper"
            )));
        }
        if !FIELDS.contains(&field) && !unknown.iter().any(|u| u == field) {
            unknown.push(field.to_owned());
        }
        if let Some(filter) = parts.find(|f| !FILTERS.contains(f)) {
            return Err(MergeError::Syntax(format!(
                "{filter:?} is not a filter a field may use; these are: {}",
                FILTERS.join(", ")
            )));
        }
        rest = &after[close + 2..];
    }
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    Err(MergeError::UnknownFields(unknown))
}

/// A body, checked once, to fill in for each recipient.
pub struct BodyTemplate {
    source: String,
    env: Option<Environment<'static>>,
}

impl BodyTemplate {
    pub fn parse(body: &str) -> Result<Self, MergeError> {
        let plain = !["{{", "{%", "{#"].iter().any(|open| body.contains(open));
        if plain {
            return Ok(Self {
                source: body.to_owned(),
                env: None,
            });
        }
        allowed(body)?;
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.add_template_owned("body", body.to_owned())
            .map_err(|e| MergeError::Syntax(e.detail().unwrap_or("").to_owned()))?;
        // `allowed` has named every field already; the engine only checks the syntax.
        Ok(Self {
            source: body.to_owned(),
            env: Some(env),
        })
    }

    /// Whether the body uses template syntax at all (each recipient's text may differ).
    pub fn is_personal(&self) -> bool {
        self.env.is_some()
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn render(&self, recipient: Recipient<'_>) -> Result<String, MergeError> {
        let Some(env) = &self.env else {
            return Ok(self.source.clone());
        };
        let template = env
            .get_template("body")
            .map_err(|e| MergeError::Render(e.to_string()))?;
        let context = Context {
            first_name: recipient.name.split_whitespace().next().unwrap_or(""),
            name: recipient.name,
            church: recipient.church,
        };
        template.render(context).map_err(|e| match e.kind() {
            ErrorKind::UndefinedError => {
                MergeError::UnknownFields(vec![e.detail().unwrap_or("a field").to_owned()])
            }
            _ => MergeError::Render(e.detail().map_or_else(|| e.to_string(), str::to_owned)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUTH: Recipient = Recipient {
        name: "Ruth Adams",
        church: "Grace Chapel",
    };

    #[test]
    fn fields_are_filled_in_per_recipient() {
        let body =
            BodyTemplate::parse("Hi {{ firstName }}, {{church}} misses you, {{ name }}!").unwrap();
        assert!(body.is_personal());
        assert_eq!(
            body.render(RUTH).unwrap(),
            "Hi Ruth, Grace Chapel misses you, Ruth Adams!"
        );
        let filters = BodyTemplate::parse("{{ firstName | upper }}").unwrap();
        assert_eq!(filters.render(RUTH).unwrap(), "RUTH");
    }

    #[test]
    fn a_plain_body_is_its_own_rendering() {
        let body = BodyTemplate::parse("Service at 10 {not a field}").unwrap();
        assert!(!body.is_personal());
        assert_eq!(body.render(RUTH).unwrap(), "Service at 10 {not a field}");
    }

    #[test]
    fn unknown_fields_are_named_and_bad_syntax_refused() {
        assert_eq!(
            BodyTemplate::parse("Hi {{ firstname }} {{ lastName }}").err(),
            Some(MergeError::UnknownFields(vec![
                "firstname".to_owned(),
                "lastName".to_owned()
            ]))
        );
        assert!(matches!(
            BodyTemplate::parse("Hi {{ firstName "),
            Err(MergeError::Syntax(_))
        ));
    }

    #[test]
    fn a_body_can_only_fill_in_fields() {
        for body in [
            "{% for i in range(100000) %}x{% endfor %}",
            "{{ \"x\" * 99999999 }}",
            "{{ name * 1000 }}",
            "{{ name ~ name }}",
            "{{ name | replace('a', 'b') }}",
            "{{ name }",
            "{{ }}",
        ] {
            assert!(
                matches!(BodyTemplate::parse(body), Err(MergeError::Syntax(_))),
                "{body}"
            );
        }
        let trimmed = BodyTemplate::parse("Hi   {{- firstName | title -}}  !").unwrap();
        assert_eq!(trimmed.render(RUTH).unwrap(), "HiRuth!");
        // A comment is no field.
        let commented = BodyTemplate::parse("{# note #}Hi {{ firstName }}").unwrap();
        assert_eq!(commented.render(RUTH).unwrap(), "Hi Ruth");
    }
}
