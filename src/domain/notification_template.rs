//! A notification template: what each channel says (the app's title and body, the email's
//! subject, text and optional HTML, an optional SMS), written in minijinja with variables a send
//! fills in. Strict: a variable the send does not give is an error naming it, never an empty
//! gap; the HTML part escapes every value; fuel bounds what one render may do.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Far more than any notification needs; a template cannot loop for long.
const FUEL: u64 = 50_000;
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 4000;
pub const MAX_SMS_CHARS: usize = 1530;
/// A part's source, before rendering.
pub const MAX_SOURCE_CHARS: usize = 20_000;

static ENGINE: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
});

/// What each channel says, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateParts {
    pub title: String,
    pub body: String,
    pub email_subject: String,
    pub email_text: String,
    pub email_html: Option<String>,
    pub sms_text: Option<String>,
}

/// What each channel says for one send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub title: String,
    pub body: String,
    pub email_subject: String,
    pub email_text: String,
    pub email_html: Option<String>,
    pub sms_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{field} is not a valid template: {problem}")]
    Syntax {
        field: &'static str,
        problem: String,
    },
    #[error("{field} uses the variable {variable:?}, which was not given")]
    MissingVariable {
        field: &'static str,
        variable: String,
    },
    #[error("{field} could not be rendered: {problem}")]
    Render {
        field: &'static str,
        problem: String,
    },
    #[error("{field} is empty or longer than {max} characters once rendered")]
    Length { field: &'static str, max: usize },
}

impl TemplateError {
    pub fn field(&self) -> &'static str {
        match self {
            Self::Syntax { field, .. }
            | Self::MissingVariable { field, .. }
            | Self::Render { field, .. }
            | Self::Length { field, .. } => field,
        }
    }
}

/// A template's name: lower-case letters, digits, `-` and `_`, starting with a letter or digit.
pub fn parse_name(raw: &str) -> Option<&str> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_NAME_CHARS
        && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    ok.then_some(raw)
}

pub const NAME_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";

/// Each part with the name it is known by (in errors) and the name the engine compiles it
/// under: `.html` turns on HTML escaping.
fn parts(p: &TemplateParts) -> [(&'static str, &'static str, Option<&str>); 6] {
    [
        ("inApp.title", "title.txt", Some(&p.title)),
        ("inApp.body", "body.txt", Some(&p.body)),
        ("email.subject", "subject.txt", Some(&p.email_subject)),
        ("email.text", "text.txt", Some(&p.email_text)),
        ("email.html", "email.html", p.email_html.as_deref()),
        ("sms.text", "sms.txt", p.sms_text.as_deref()),
    ]
}

impl TemplateParts {
    /// Every part compiles (and none is too long to keep).
    pub fn check(&self) -> Result<(), TemplateError> {
        for (field, name, source) in parts(self) {
            let Some(source) = source else { continue };
            if source.trim().is_empty() || source.chars().count() > MAX_SOURCE_CHARS {
                return Err(TemplateError::Length {
                    field,
                    max: MAX_SOURCE_CHARS,
                });
            }
            ENGINE
                .template_from_named_str(name, source)
                .map_err(|e| TemplateError::Syntax {
                    field,
                    problem: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// Every part filled in with `vars`.
    pub fn render(&self, vars: &Map<String, Value>) -> Result<Rendered, TemplateError> {
        let context = Value::Object(vars.clone());
        let mut out: Vec<Option<String>> = Vec::with_capacity(6);
        for (field, name, source) in parts(self) {
            let Some(source) = source else {
                out.push(None);
                continue;
            };
            let template = ENGINE.template_from_named_str(name, source).map_err(|e| {
                TemplateError::Syntax {
                    field,
                    problem: e.to_string(),
                }
            })?;
            let text = template.render(&context).map_err(|e| {
                if e.kind() == ErrorKind::UndefinedError {
                    let given: BTreeSet<&str> = vars.keys().map(String::as_str).collect();
                    let missing = template
                        .undeclared_variables(false)
                        .into_iter()
                        .filter(|v| !given.contains(v.as_str()))
                        .min();
                    if let Some(variable) = missing {
                        return TemplateError::MissingVariable { field, variable };
                    }
                }
                TemplateError::Render {
                    field,
                    problem: e.to_string(),
                }
            })?;
            out.push(Some(text));
        }
        let [title, body, subject, text, html, sms]: [Option<String>; 6] =
            out.try_into().unwrap_or_else(|_| unreachable!("six parts"));
        let fit = |field: &'static str, max: usize, text: Option<String>| {
            let text = text.unwrap_or_default().trim().to_owned();
            if text.is_empty() || text.chars().count() > max {
                return Err(TemplateError::Length { field, max });
            }
            Ok(text)
        };
        let title = fit("inApp.title", MAX_TITLE_CHARS, title)?;
        let body = fit("inApp.body", MAX_BODY_CHARS, body)?;
        let email_subject = fit("email.subject", MAX_TITLE_CHARS, subject)?;
        let email_text = fit("email.text", MAX_SOURCE_CHARS * 2, text)?;
        let email_html = match html {
            Some(html) => Some(fit("email.html", MAX_SOURCE_CHARS * 4, Some(html))?),
            None => None,
        };
        let sms_text = match sms {
            Some(sms) => Some(fit("sms.text", MAX_SMS_CHARS, Some(sms))?),
            None => None,
        };
        Ok(Rendered {
            title,
            body,
            email_subject,
            email_text,
            email_html,
            sms_text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts() -> TemplateParts {
        TemplateParts {
            title: "Service at {{ time }}".into(),
            body: "Meet in the {{ place }}.".into(),
            email_subject: "Service at {{ time }}".into(),
            email_text: "Hello, meet in the {{ place }} at {{ time }}.".into(),
            email_html: Some("<p>Meet in the <b>{{ place }}</b></p>".into()),
            sms_text: None,
        }
    }

    fn vars(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_part_is_filled_in_and_only_the_html_is_escaped() {
        let done = parts()
            .render(&vars(json!({"time": "10:30", "place": "<hall> & garden"})))
            .unwrap();
        assert_eq!(done.title, "Service at 10:30");
        assert_eq!(done.body, "Meet in the <hall> & garden.");
        assert_eq!(
            done.email_html.as_deref(),
            Some("<p>Meet in the <b>&lt;hall&gt; &amp; garden</b></p>")
        );
        assert_eq!(done.sms_text, None);
    }

    #[test]
    fn a_missing_variable_is_named_with_its_part() {
        let err = parts().render(&vars(json!({"time": "10:30"}))).unwrap_err();
        assert_eq!(
            err,
            TemplateError::MissingVariable {
                field: "inApp.body",
                variable: "place".into()
            }
        );
    }

    #[test]
    fn bad_syntax_and_bad_names_are_refused() {
        let mut bad = parts();
        bad.email_text = "{% if %}".into();
        assert!(matches!(
            bad.check(),
            Err(TemplateError::Syntax {
                field: "email.text",
                ..
            })
        ));
        assert!(parts().check().is_ok());
        assert_eq!(parse_name("sunday-rota_2"), Some("sunday-rota_2"));
        for name in ["", "Sunday", "-rota", "rota!", &"a".repeat(65)] {
            assert_eq!(parse_name(name), None, "{name}");
        }
    }

    #[test]
    fn a_template_that_loops_for_ever_runs_out_of_fuel() {
        let mut greedy = parts();
        greedy.body =
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
                .into();
        assert!(matches!(
            greedy.render(&vars(json!({"time": "1", "place": "2"}))),
            Err(TemplateError::Render {
                field: "inApp.body",
                ..
            })
        ));
    }
}
